"""The shell's pages: log-in and the home page that sends each role to the
workspace its app registered (web.nav). Domain pages live in their apps."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from hotline.web import nav, throttle


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        self.throttle_keys = throttle.keys(request, request.POST.get("username", ""))
        if throttle.is_locked(self.throttle_keys):
            # Refused before the password is even checked.
            form = self.form_class(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, refused=_("Too many failed log-in attempts. Try again in 15 minutes."))
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(self.throttle_keys)
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.record_success(self.throttle_keys)
        return super().form_valid(form)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    target = nav.home_for(request.user)
    if target is not None:
        return redirect(target)
    return render(request, "web/home.html")
