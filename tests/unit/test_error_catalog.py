"""Every error a user can meet has its text in both languages: each error code, each message key
raised anywhere in the code, each field label. A missing or untranslated entry fails here."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest

from camera_ops import i18n
from camera_ops.error_text import FIELD_LABELS, ShownError, error_message, field_label
from camera_ops.errors import CameraOpsError, ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I)
# Modules whose errors never reach a person directly (protocol internals: their callers turn them
# into what the user sees, or they end as a code's generic text).
INTERNAL = ("camera_ops/rtsp/", "camera_ops/video/", "camera_ops/sim/", "storage/clipstore/",
            "camera_ops/custody/writer.py", "camera_ops/custody/checkpoint.py", "camera_ops/monitor/probe.py",
            "camera_ops/onvif/rawsoap.py", "camera_ops/security.py", "camera_ops/footage/integrity.py",
            "camera_ops/footage/archive.py", "camera_ops/custody/package.py", "camera_ops/custody/ledger.py",
            "camera_ops/footage/acquire.py", "camera_ops/footage/retrieval.py")


# Modules whose input / lookup / permission errors all carry a message key (add a module here once
# its raises have keys: ``raise ValidationFailed("english", field=..., key="err.x.y", params={...})``
# and the key's Vietnamese and English text in the catalogs camera_ops/locale/*/LC_MESSAGES/messages.po).
KEYED_MODULES = (
    "camera_ops/footage/requests.py", "camera_ops/footage/cases.py", "camera_ops/footage/access.py",
    "camera_ops/footage/reach.py", "camera_ops/registry/areas.py", "camera_ops/registry/cameras.py",
    "camera_ops/registry/camera_import.py", "camera_ops/registry/donors.py", "camera_ops/registry/dossiers.py",
    "camera_ops/registry/users.py", "camera_ops/registry/validation.py", "camera_ops/registry/reach.py",
    "camera_ops/reports/periods.py", "camera_ops/monitor/summary.py", "camera_ops/alerts/problems.py",
    "camera_ops/onvif/handshake.py", "camera_ops/onvif/discovery.py", "api/web/forms.py", "api/web/context.py",
    "api/web/pages/cases.py", "api/web/pages/cameras.py", "api/web/pages/board.py", "api/deps.py",
    "api/routers/areas.py", "api/routers/donors.py", "api/routers/dossiers.py", "api/routers/health.py",
    "api/web/pages/registry.py", "camera_ops/footage/links.py",
)


def _all_error_classes() -> list[type[CameraOpsError]]:
    for package in ("camera_ops", "api", "storage"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in info.name and "pytest_plugin" not in info.name:
                importlib.import_module(info.name)
    found, todo = [], [CameraOpsError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _raised_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*ROOT.joinpath("camera_ops").rglob("*.py"), *ROOT.joinpath("api").rglob("*.py")]:
        for match in re.finditer(r'key=f?"(err\.[a-z_.{}]+)"', path.read_text(encoding="utf-8")):
            key = match.group(1)
            if "{kind}" in key:
                keys.update(key.replace("{kind}", k) for k in ("month", "quarter", "half", "year"))
            else:
                keys.add(key)
    return keys


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _sample(names: set[str]) -> dict[str, object]:
    return {n: 7 for n in names}


def _check_translated(key: str) -> None:
    vi, en = i18n.texts(key)
    assert vi.strip() and en.strip(), key
    assert vi != en, f"{key} is not translated"
    assert VIETNAMESE.search(vi) or vi in ("Camera",), f"{key}: Vietnamese text looks English: {vi!r}"
    assert _placeholders(vi) == _placeholders(en), f"{key}: placeholders differ"


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_code_renders_in_both_languages(cls: type[CameraOpsError]) -> None:
    key = f"error.code.{cls.code}"
    assert i18n.has(key), f"no catalog text for error code {cls.code}"
    _check_translated(key)
    exc = cls.__new__(cls)
    CameraOpsError.__init__(exc, "")
    assert error_message(exc, "vi") == i18n.t(key, "vi")
    assert error_message(exc, "en") == i18n.t(key, "en")


@pytest.mark.parametrize("key", sorted(_raised_keys()))
def test_every_message_key_raised_in_the_code_is_in_the_catalog(key: str) -> None:
    assert i18n.has(key), f"{key} is raised but has no catalog text"
    _check_translated(key)
    vi, en = i18n.texts(key)
    names = _placeholders(vi) - {"field"}
    exc = ValidationFailed("x", field="purpose", key=key, params=_sample(names))
    for lang in ("vi", "en"):
        rendered = error_message(exc, lang)
        assert not any("{%s}" % n in rendered for n in names | {"field"}), (key, rendered)


def test_every_field_label_exists_in_both_languages() -> None:
    for name, key in FIELD_LABELS.items():
        assert i18n.has(key), f"field {name}: label {key} missing"
        assert field_label(name, "vi") == i18n.t(key, "vi")


def test_user_facing_code_raises_errors_with_a_message_key() -> None:
    """A ratchet: an input, lookup or permission error raised in code a person's action reaches
    carries a catalog key (server-side failures show their code's generic text)."""
    names = {"ValidationFailed", "NotFound", "Conflict", "PermissionDenied", "NotAuthenticated", "CsrfFailed"}
    missing = []
    for rel in KEYED_MODULES:
        path = ROOT / rel
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
                    and not any(k.arg == "key" for k in node.keywords)):
                missing.append(f"{rel}:{node.lineno} {node.func.id}")
    assert not missing, "errors without a message key:\n" + "\n".join(missing)


def test_an_error_is_shown_with_the_forms_own_field_label() -> None:
    exc = ValidationFailed("the window ends in the future", field="end", key="err.window.future")
    shown = ShownError.of(exc, "vi")
    assert shown.field_label == "Đến (giờ Việt Nam)" and "tương lai" in shown.message
    assert ShownError.of(exc, "vi", {"end": "Kết thúc"}).field_label == "Kết thúc"
    stored = ShownError.of(exc.to_dict(), "en")  # e.g. a camera's last handshake error
    assert stored.message == "The window ends in the future; only live capture can record ahead"


def test_a_required_field_names_its_label_in_the_users_language() -> None:
    exc = ValidationFailed("unit is required", field="unit", key="err.field.required")
    assert error_message(exc, "vi") == "Chưa nhập “Đơn vị”"
    assert error_message(exc, "en") == "“Unit” is required"


def test_registration_warnings_are_said_in_the_users_language() -> None:
    from camera_ops.error_text import warning_text

    said = warning_text("camera clock is +420 s off true time; fix it on the camera (NTP)", "vi")
    assert said.startswith("Đồng hồ camera lệch +420 giây") and "NTP" in said
    assert warning_text("camera reported no MAC address; it will be identified by serial", "vi").startswith(
        "Camera không báo địa chỉ MAC")
    assert warning_text("GetCapabilities failed: timeout", "vi") == "Bước GetCapabilities không được: timeout"
    assert warning_text("something new", "vi") == "something new"


def test_a_clips_status_reason_is_said_in_the_readers_language() -> None:
    from camera_ops.error_text import clip_reason_text

    assert clip_reason_text("the camera's recording has 2 gap(s), 3.5 s missing in all", "vi") == \
        "Bản ghi của camera có 2 đoạn thiếu, tổng cộng 3,5 giây"
    said = clip_reason_text("gave up after 5 attempts: the camera has no footage in the requested window", "vi")
    assert said == "Dừng sau 5 lần thử: Camera không có dữ liệu trong khung giờ yêu cầu"
    assert clip_reason_text("attempt 2 failed (the live stream gave no keyframe inside the window); retrying at "
                            "07:31:05 UTC", "vi").startswith("Lần thử 2 không được (Luồng trực tiếp không có")
    assert clip_reason_text(None, "vi") == ""
