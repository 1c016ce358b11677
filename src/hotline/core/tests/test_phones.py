import pytest

from hotline.core.phones import PhoneError, mask, normalise


@pytest.mark.parametrize("raw,number,ext,kind", [
    ("13812345678", "13812345678", "", "mobile"),
    ("138 1234 5678", "13812345678", "", "mobile"),
    ("+86 138-1234-5678", "13812345678", "", "mobile"),
    ("008613812345678", "13812345678", "", "mobile"),
    ("１３８１２３４５６７８", "13812345678", "", "mobile"),
    ("0571-87654321", "057187654321", "", "landline"),
    ("0571-8765 4321", "057187654321", "", "landline"),
    ("(0571)87654321", "057187654321", "", "landline"),
    ("0571-87654321-123", "057187654321", "123", "landline"),
    ("0571 87654321转8001", "057187654321", "8001", "landline"),
    ("87654321", "057187654321", "", "landline"),  # local number gets the default area code
    ("010-12345678", "01012345678", "", "landline"),
    ("95598", "95598", "", "service"),
])
def test_normalise(raw, number, ext, kind):
    p = normalise(raw)
    assert (p.number, p.extension, p.kind) == (number, ext, kind)


@pytest.mark.parametrize("raw", ["", "abc", "12", "1381234567", "0000"])
def test_bad_numbers_are_refused(raw):
    with pytest.raises(PhoneError):
        normalise(raw)


def test_mask():
    assert mask("13812345678") == "138****5678"
    assert mask("057187654321") == "0571****4321"


@pytest.mark.parametrize("raw", ["12345abc", "1381234567o", "138-1234-5678 call me", "0571/87654321", "138*1234*5678"])
def test_letters_and_signs_are_refused_never_dropped(raw):
    with pytest.raises(PhoneError, match="只能包含数字"):
        normalise(raw)
