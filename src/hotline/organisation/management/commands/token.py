from django.core.management.base import BaseCommand, CommandError

from hotline.organisation.models import User
from hotline.organisation.services import issue_api_token


class Command(BaseCommand):
    help = "Issue an API token for a user; the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. 'field app'")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        _, key = issue_api_token(user=user, name=name)
        self.stdout.write(key)
