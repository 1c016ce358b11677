from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Everything is served by the installation itself (offline intranets), so the
# policy can forbid every other origin. The API docs page needs inline script.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
_CSP_DOCS = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            docs = request.path.startswith("/api/docs") or request.path.startswith("/admin/")
            response["Content-Security-Policy"] = _CSP_DOCS if docs else _CSP
        return response


class ChineseByDefaultMiddleware:
    """The UI is Simplified Chinese unless the user chose another language.

    Browsers on a center's PCs often send an English Accept-Language; only an
    explicit choice (the language cookie set by /i18n/setlang/) switches.
    A program calling the API with a token has no cookie: its Accept-Language
    is that choice, so there it counts. Runs before LocaleMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and not _token_client(request):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


def _token_client(request: HttpRequest) -> bool:
    meta = request.META
    return request.path.startswith("/api/") and bool(meta.get("HTTP_AUTHORIZATION") or meta.get("HTTP_X_API_TOKEN"))
