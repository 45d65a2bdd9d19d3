"""AI & handoff rules and the widget's settings, as forms over the workspace's settings."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from relaydesk.agent.actions import ActionDefinition
from relaydesk.agent.policy import WEEKDAY_NAMES, OfficeHours, Triggers
from relaydesk.channels.widget.copy import LANGUAGES
from relaydesk.channels.widget.settings import WidgetSettings, allowed_origins, normalize_origin, widget_settings
from relaydesk.core.errors import DomainError
from relaydesk.core.users import SignedIn
from relaydesk.web.dashboard.auth import FormDep, SignedInDep, require_manager
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.pages import actor, done, page
from relaydesk.web.dashboard.workspace_admin import (
    AgentRules,
    agent_rules,
    load_workspace,
    masked_action,
    save_agent_rules,
    save_settings,
)
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.runtime import Runtime

router = APIRouter()
LEVELS = ("ai_only", "quick", "balanced", "ai_first", "advanced")
OUT_OF_HOURS = ("handoff_anyway", "ai_collects_email")


def _lines(form: FormData, name: str) -> list[str]:
    raw = form.get(name)
    return [line.strip() for line in (raw if isinstance(raw, str) else "").splitlines() if line.strip()]


def _text(form: FormData, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def format_ranges(hours: OfficeHours | None, day: str) -> str:
    """A day's opening hours as the form shows them: `09:00-12:00, 13:00-17:00`."""
    if hours is None:
        return ""
    ranges = hours.weekly.get(day, [])  # type: ignore[call-overload]
    return ", ".join(f"{r.start.strftime('%H:%M')}-{r.end.strftime('%H:%M')}" for r in ranges)


def _office_hours(form: FormData) -> dict[str, Any] | None:
    if form.get("oh_enabled") != "on":
        return None
    weekly: dict[str, list[dict[str, str]]] = {}
    for day in WEEKDAY_NAMES:
        for part in _text(form, f"oh_{day}").split(","):
            if not part.strip():
                continue
            start, _, end = part.strip().partition("-")
            if not end:
                raise DomainError(t("ai.bad_range", day=t(f"day.{day}"), value=part.strip()))
            weekly.setdefault(day, []).append({"start": start.strip(), "end": end.strip()})
    holidays = []
    for line in _lines(form, "oh_holidays"):
        try:
            holidays.append(date.fromisoformat(line).isoformat())
        except ValueError as exc:
            raise DomainError(t("ai.bad_holiday", value=line)) from exc
    return {"timezone": _text(form, "oh_timezone") or "UTC", "weekly": weekly, "holidays": holidays}


def _triggers(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in Triggers.model_fields.items():
        if info.annotation is bool:
            values[name] = form.get(f"adv_{name}") == "on"
        elif _text(form, f"adv_{name}"):
            values[name] = _text(form, f"adv_{name}")
    return values


async def _ai_page(runtime: Runtime, signed: SignedIn, *, error: str | None = None, status: int = 200,
                   rules: AgentRules | None = None) -> Response:
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    rules = rules or agent_rules(workspace)
    hours = rules.handoff.office_hours
    return await page(
        runtime, signed, "agent.html", "ai", rules=rules, error=error, status=status, levels=LEVELS,
        out_of_hours=OUT_OF_HOURS, days=WEEKDAY_NAMES, hours=hours,
        ranges={day: format_ranges(hours, day) for day in WEEKDAY_NAMES},
        trigger_fields=[(name, info.annotation is bool) for name, info in Triggers.model_fields.items()],
        triggers=rules.handoff.advanced.model_dump(), actions=[masked_action(a) for a in rules.actions],
        llm_ready=bool(runtime.settings.llm_base_url and runtime.settings.llm_model),
    )


@router.get("/settings/ai", response_class=HTMLResponse)
async def ai_settings(runtime: RuntimeDep, signed: SignedInDep) -> Response:
    return await _ai_page(runtime, signed)


@router.post("/settings/ai")
async def save_ai_settings(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Instructions, brain, handoff level or advanced triggers, topics, office hours; validated before saving."""
    require_manager(signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    current = agent_rules(workspace)
    try:
        handoff = {
            "level": _text(form, "level") or "quick",
            "advanced": _triggers(form),
            "topics": _lines(form, "topics"),
            "office_hours": _office_hours(form),
            "out_of_hours": _text(form, "out_of_hours") or "handoff_anyway",
        }
        rules = AgentRules.model_validate({
            "brain": _text(form, "brain") or "offline",
            "instructions": _text(form, "instructions"),
            "handoff": handoff,
            "actions": [a.model_dump() for a in current.actions],
        })
    except ValidationError as exc:
        return await _ai_page(runtime, signed, error=_problem(exc), status=422)
    except DomainError as exc:
        return await _ai_page(runtime, signed, error=exc.message, status=422)
    await save_agent_rules(runtime, workspace.id, rules, actor=actor(signed))
    return await done(runtime, signed, "/settings/ai", t("ai.saved"))


@router.post("/settings/ai/actions")
async def add_action(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Add an AI action (or replace the one with the same name) from its JSON definition."""
    require_manager(signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    current = agent_rules(workspace)
    try:
        action = ActionDefinition.model_validate(json.loads(_text(form, "definition") or "null"))
    except json.JSONDecodeError as exc:
        return await _ai_page(runtime, signed, error=t("ai.action_not_json", error=str(exc)), status=422)
    except ValidationError as exc:
        return await _ai_page(runtime, signed, error=_problem(exc), status=422)
    others = [a for a in current.actions if a.name != action.name]
    rules = current.model_copy(update={"actions": [*others, action]})
    try:
        await save_agent_rules(runtime, workspace.id, rules, actor=actor(signed))
    except DomainError as exc:
        return await _ai_page(runtime, signed, error=exc.message, status=exc.status)
    return await done(runtime, signed, "/settings/ai#actions", t("ai.action_saved", name=action.name))


@router.post("/settings/ai/actions/delete")
async def delete_action(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    current = agent_rules(workspace)
    name = _text(form, "name")
    rules = current.model_copy(update={"actions": [a for a in current.actions if a.name != name]})
    await save_agent_rules(runtime, workspace.id, rules, actor=actor(signed))
    return await done(runtime, signed, "/settings/ai#actions", t("ai.action_removed", name=name))


# -- widget -----------------------------------------------------------------------------------------------------


def embed_snippet(public_url: str, token: str) -> str:
    return f'<script src="{public_url.rstrip("/")}/widget.js" data-token="{token}" async></script>'


async def _widget_page(runtime: Runtime, signed: SignedIn, *, error: str | None = None, status: int = 200,
                       values: WidgetSettings | None = None) -> Response:
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    return await page(
        runtime, signed, "widget.html", "widget", widget=values or widget_settings(workspace), error=error,
        status=status, origins=allowed_origins(workspace) or [], languages=LANGUAGES,
        snippet=embed_snippet(runtime.settings.public_url, workspace.widget_token),
        token=workspace.widget_token,
    )


@router.get("/settings/widget", response_class=HTMLResponse)
async def widget_page(runtime: RuntimeDep, signed: SignedInDep) -> Response:
    return await _widget_page(runtime, signed)


def _widget_values(current: WidgetSettings, form: FormData) -> dict[str, Any]:
    values = current.model_dump()
    for name in ("bot_name", "brand_color", "theme", "position", "csat_low_score_comment"):
        values[name] = _text(form, name) or values[name]
    for name in ("agent_name", "title", "bot_avatar_url", "agent_avatar_url", "office_hours_notice", "language"):
        values[name] = _text(form, name) or None
    values["greeting"] = _lines(form, "greeting")
    values["suggested_questions"] = _lines(form, "suggested_questions")
    values["languages"] = [lang for lang in LANGUAGES if form.get(f"lang_{lang}") == "on"] or ["en"]
    values["csat_enabled"] = form.get("csat_enabled") == "on"
    return values


@router.post("/settings/widget")
async def save_widget(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Appearance, languages, CSAT and the sites allowed to embed the widget."""
    require_manager(signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    try:
        widget = WidgetSettings.model_validate(_widget_values(widget_settings(workspace), form))
    except ValidationError as exc:
        return await _widget_page(runtime, signed, error=_problem(exc), status=422)
    origins = [normalize_origin(line) for line in _lines(form, "allowed_origins")]
    bad = [o for o in origins if not o.startswith(("http://", "https://"))]
    if bad:
        return await _widget_page(runtime, signed, error=t("widget.bad_origin", origin=bad[0]), status=422,
                                  values=widget)
    await save_settings(
        runtime, workspace.id,
        {"widget": widget.model_dump(mode="json"), "allowed_origins": origins or None},
        actor=actor(signed), action="widget.settings_changed",
    )
    return await done(runtime, signed, "/settings/widget", t("widget.saved"))
