"""What every web page needs: the logged-in user, the language, the area scope, CSRF, rendering.

Page handlers take one dependency, ``Page`` (GET) or ``FormPage`` (POST, CSRF checked), and call
``page.render("template.html", ...)``. Nothing here queries beyond the user row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import READ_METHODS, TOKEN_COOKIE, SessionDep, SettingsDep, now_of
from api.web.csrf import CSRF_FIELD, csrf_token, same_origin, token_matches
from camera_ops.health.labels import reason_advice
from camera_ops import i18n
from camera_ops.access import Action, allowed
from camera_ops.audit import Actor, actor_of
from camera_ops.error_text import ShownError, clip_reason_text, field_label, warning_text
from camera_ops.errors import CameraOpsError, NotAuthenticated, NotFound, PermissionDenied
from camera_ops.registry.areas import scope_paths
from camera_ops.registry.sessions import user_for_token
from camera_ops.settings import Settings
from storage.models import User

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600
TEMPLATES_DIR = Path(__file__).parent / "templates"


class LoginRequired(Exception):
    """No valid login cookie: the page redirects to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class MustChangePassword(Exception):
    """The password was reset by an administrator: every page leads to the change form."""


PASSWORD_PAGES = frozenset({"/account/password", "/logout"})


class CsrfRejected(Exception):
    """A state-changing form without a valid CSRF token or from another origin."""


def _make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    # Jinja2's i18n extension: ``{{ _('nav.board') }}`` and ``{% trans %}`` read the request's
    # catalog (``render`` puts ``gettext`` / ``_`` for the page's language into its context);
    # these defaults (Vietnamese) serve templates rendered outside a request.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda key, **v: i18n.t(key, **v), lambda s, p, n, **v: i18n.t(s if n == 1 else p, **v), newstyle=True)
    env.globals["Action"] = Action
    env.filters["vn_date"] = i18n.fmt_date
    return templates


templates = _make_templates()


def request_lang(request: Request) -> i18n.Lang:
    return (
        i18n.parse_lang(request.query_params.get("lang"))
        or i18n.parse_lang(request.cookies.get(LANG_COOKIE))
        or i18n.DEFAULT_LANG
    )


@dataclass
class Formatter:
    """Formatting bound to one language and display zone, handed to templates as ``f``."""

    lang: i18n.Lang
    tz: str

    def num(self, value: float | int | None, decimals: int = 0) -> str:
        return i18n.fmt_number(value, decimals, self.lang)

    def pct(self, value: float | None, decimals: int = 1) -> str:
        return i18n.fmt_percent(value, decimals, self.lang)

    def dt(self, value: Any, seconds: bool = False) -> str:
        return i18n.fmt_datetime(value, self.tz, seconds=seconds)

    def date(self, value: Any) -> str:
        return i18n.fmt_date(value, self.tz)

    def input_date(self, value: Any) -> str:
        """A date field's value as ``dd/mm/yyyy`` (from a date or an ISO string; other text as typed)."""
        if not value:
            return ""
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return value
        return value.strftime("%d/%m/%Y")

    def input_dt(self, value: Any, seconds: bool = False) -> str:
        """A date-time field's value: ``dd/mm/yyyy HH:MM`` in the display zone (24 h)."""
        return i18n.fmt_input_datetime(value, self.tz, seconds=seconds) if value else ""

    def recent_window(self, minutes: int) -> tuple[str, str]:
        """The default of a footage window: the last ``minutes`` up to now, as field values."""
        from storage.types import utcnow

        end = utcnow().replace(second=0, microsecond=0)
        return self.input_dt(end - timedelta(minutes=minutes)), self.input_dt(end)

    def size(self, value: int | None) -> str:
        return i18n.fmt_size(value, self.lang)

    def duration(self, value: Any) -> str:
        return i18n.fmt_duration(value, self.lang)

    def label(self, value: Any, prefix: str) -> str:
        return i18n.label(value, prefix, self.lang)

    def reason(self, value: str) -> str:
        return i18n.reason_text(value, self.lang)

    def advice(self, value: str) -> str:
        """What to do about a probe reason (the board's "what to do" line)."""
        return reason_advice(value, self.lang)

    def error(self, value: CameraOpsError | dict[str, Any] | None) -> str:
        """An error (or one stored as a dict, e.g. a camera's last handshake) in this language."""
        return ShownError.of(value, self.lang).message if value else ""

    def clip_reason(self, text: str | None) -> str:
        """Why a clip is not (wholly) archived, in this language."""
        return clip_reason_text(text, self.lang)

    def warning(self, text: str) -> str:
        """A registration warning in this language."""
        return warning_text(text, self.lang)

    def field(self, name: str | None) -> str:
        """The label of a form field (``end`` → "Đến (giờ Việt Nam)")."""
        return field_label(name, self.lang) or ""

    def row_message(self, row: dict[str, Any]) -> str:
        """The detail of an import row: its error, or its note, in this language."""
        note = i18n.t(row["note_key"], self.lang) if row.get("note_key") else ""
        error = self.error(row.get("error"))
        if note and error:
            return f"{note}: {error}"
        return note or error or str(row.get("message") or "")


@dataclass
class WebPage:
    request: Request
    user: User
    settings: Settings
    lang: i18n.Lang
    login_token: str
    form: dict[str, Any] = field(default_factory=dict)  # the posted fields (FormPage only)
    form_lists: dict[str, list[Any]] = field(default_factory=dict)  # every value of repeated fields
    scope: list[str] | None = field(init=False)

    def __post_init__(self) -> None:
        self.scope = scope_paths(self.user)

    def t(self, key: str, **values: object) -> str:
        return i18n.t(key, self.lang, **values)

    def can(self, action: Action) -> bool:
        return allowed(self.user.role, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDenied(f"role {self.user.role.value} may not {action.value}", key="err.role.denied",
                                   params={"role": self.user.role.value})

    def password_error(self, error: Any) -> str:
        """A refused password in the page's language (the policy names its rule)."""
        rule = (getattr(error, "details", None) or {}).get("rule")
        if rule:
            return self.t(f"password.rule.{rule}", n=10)
        key = {"current_password": "password.current_wrong", "new_password_again": "password.mismatch"}.get(error.field)
        return self.t(key) if key else error.message

    @property
    def actor(self) -> Actor:
        """Who is acting, for the audit log."""
        return actor_of(self.user, self.request.client.host if self.request.client else None)

    @property
    def csrf(self) -> str:
        return csrf_token(self.login_token, self.settings.jwt_key)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status_code=status_code, user=self.user, page=self, **context)


def render(
    request: Request, template: str, *, status_code: int = 200, user: User | None = None, **context: Any
) -> HTMLResponse:
    """Render a template with the common context (language, formatter, navigation)."""
    settings: Settings = request.app.state.settings
    lang = request_lang(request)
    if isinstance(context.get("error"), CameraOpsError):
        context["error"] = ShownError.of(context["error"], lang, context.get("field_labels"))
    ctx = {
        "request": request, "user": user, "lang": lang, "f": Formatter(lang, settings.timezone),
        "t": lambda key, **v: i18n.t(key, lang, **v), "nav": navigation(user, lang) if user else [],
        "gettext": lambda key, **v: i18n.t(key, lang, **v), "_": lambda key, **v: i18n.t(key, lang, **v),
        "ngettext": lambda s, p, n, **v: i18n.t(s if n == 1 else p, lang, **{"num": n, **v}),
        "csrf_field": CSRF_FIELD, "input_pattern": i18n.LOCAL_INPUT_PATTERN, "active": request.url.path, "other_lang": "en" if lang == "vi" else "vi",
        **context,
    }
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    chosen = i18n.parse_lang(request.query_params.get("lang"))
    if chosen is not None:
        response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax")
    return response


# --- navigation ----------------------------------------------------------------------------------

NAV: tuple[tuple[str, str, Action], ...] = (
    ("/board", "nav.board", Action.read_health),
    ("/map", "nav.map", Action.read_registry),
    ("/cameras", "nav.cameras", Action.read_registry),
    ("/areas", "nav.areas", Action.read_registry),
    ("/donors", "nav.donors", Action.read_registry),
    ("/dossiers", "nav.dossiers", Action.read_registry),
    ("/cases", "nav.cases", Action.request_footage),
    ("/reports", "nav.reports", Action.read_reports),
    ("/users", "nav.users", Action.manage_users),
    ("/audit", "nav.audit", Action.read_audit),
)


def navigation(user: User, lang: i18n.Lang) -> list[tuple[str, str]]:
    """(path, label) of the sections this user's role may open; the rest are not shown at all."""
    items = [(path, i18n.t(key, lang)) for path, key, action in NAV if allowed(user.role, action)]
    if allowed(user.role, Action.read_ledger) and not allowed(user.role, Action.request_footage):
        at = next((i for i, (path, _) in enumerate(items) if path == "/reports"), len(items))
        items.insert(at, ("/cases", i18n.t("nav.cases", lang)))  # auditors read cases and custody
    return items


def home_path(user: User) -> str:
    return "/board" if allowed(user.role, Action.read_health) else "/cameras"


# --- dependencies --------------------------------------------------------------------------------


def _login(request: Request, session: SessionDep, settings: SettingsDep) -> tuple[User, str]:
    token = request.cookies.get(TOKEN_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    try:
        user = user_for_token(session, request.app.state.engine, settings, token, now=now_of(request),
                              writing=request.method not in READ_METHODS).user
    except (NotAuthenticated, NotFound):
        raise LoginRequired(target) from None
    request.state.actor = actor_of(user, request.client.host if request.client else None)  # for refusals (audit)
    if user.must_change_password and request.url.path not in PASSWORD_PAGES:
        raise MustChangePassword()
    return user, token


def web_page(request: Request, session: SessionDep, settings: SettingsDep) -> WebPage:
    user, token = _login(request, session, settings)
    return WebPage(request=request, user=user, settings=settings, lang=request_lang(request), login_token=token)


async def web_form_page(request: Request, session: SessionDep, settings: SettingsDep) -> WebPage:
    """A logged-in POST: same origin and a valid CSRF token, or the change is refused."""
    page = web_page(request, session, settings)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not same_origin(request) or not token_matches(sent if isinstance(sent, str) else None,
                                                     page.login_token, settings.jwt_key):
        raise CsrfRejected()
    page.form = {key: form.get(key) for key in form.keys()}
    page.form_lists = {key: form.getlist(key) for key in form.keys()}
    return page


Page = Annotated[WebPage, Depends(web_page)]
FormPage = Annotated[WebPage, Depends(web_form_page)]
