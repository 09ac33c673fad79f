"""The page, saying whether collectstatic ran at build time."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def index(request: HttpRequest) -> HttpResponse:
    collected = (settings.STATIC_ROOT / "pages" / "site.css").is_file()
    return HttpResponse(f"Hello from Django; static files collected: {collected}\n",
                        content_type="text/plain")
