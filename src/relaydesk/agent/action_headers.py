"""AI action header values at rest: they may carry credentials for the customer's API, so they are never kept plain.

A workspace's settings keep each action with its header values replaced by `MASK`, and the values themselves under
`SEALED_KEY` as `{action name: {header name: ciphertext}}`, each encrypted with the runtime's SecretBox. Pages and API
answers show the masked action; a value is decrypted only when the action is called. A stored header value other
than the mask is a plain value saved before encryption: it still works, and is encrypted when the process starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import select

from relaydesk.agent.actions import ActionDefinition
from relaydesk.core.db import Database
from relaydesk.core.errors import UnprocessableMessage
from relaydesk.core.models import Workspace
from relaydesk.crypto import SecretBox

log = structlog.get_logger(__name__)

MASK = "••••"
SEALED_KEY = "action_headers"

Sealed = dict[str, dict[str, str]]  # action name -> header name -> ciphertext


def masked(action: ActionDefinition) -> ActionDefinition:
    """The action with every header value replaced by the mask."""
    return action.model_copy(update={"headers": dict.fromkeys(action.headers, MASK)})


def seal(box: SecretBox, actions: Sequence[ActionDefinition], settings: Mapping[str, Any]) -> tuple[
        list[ActionDefinition], Sealed]:
    """The actions as they are stored (masked) and their header values encrypted, given the workspace's current
    `settings`. A new value is encrypted; the mask keeps the value stored for the same header of the action of the
    same name, and is refused (422) where there is none, since it cannot stand for a value nobody gave."""
    stored = _stored(box, settings)
    sealed: Sealed = {}
    for action in actions:
        for header, value in action.headers.items():
            if value != MASK:
                token = box.encrypt(value)
            elif (action.name, header) in stored:
                token = stored[(action.name, header)]
            else:
                raise UnprocessableMessage(
                    f"actions.{action.name}.headers.{header}: {MASK} stands for a saved value and this action has "
                    "none for this header; send the value itself", action=action.name, header=header)
            sealed.setdefault(action.name, {})[header] = token
    return [masked(action) for action in actions], sealed


def _stored(box: SecretBox, settings: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """Every header value the settings hold, encrypted, by (action name, header name)."""
    tokens = {(action, header): token for action, headers in (settings.get(SEALED_KEY) or {}).items()
              for header, token in headers.items()}
    for action in _raw_actions(settings):
        for header, value in (action.get("headers") or {}).items():
            if value != MASK:
                tokens[(str(action.get("name")), header)] = box.encrypt(value)
    return tokens


def _raw_actions(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    actions = (settings.get("agent") or {}).get("actions") or []
    return [action for action in actions if isinstance(action, dict)]


@dataclass(frozen=True, slots=True)
class HeaderOpener:
    """Decrypts one workspace's action headers, action by action, at the moment an action is called."""

    box: SecretBox
    sealed: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, box: SecretBox, settings: Mapping[str, Any]) -> HeaderOpener:
        return cls(box, settings.get(SEALED_KEY) or {})

    def __call__(self, action: ActionDefinition) -> dict[str, str]:
        """The headers to send; raises ValueError when a value cannot be decrypted (the secret key changed)."""
        sealed = self.sealed.get(action.name) or {}
        return {header: self.box.decrypt(sealed[header]) if header in sealed else value
                for header, value in action.headers.items()}


async def seal_plain_values(db: Database, box: SecretBox) -> int:
    """Encrypt header values stored plain before encryption existed; the number of workspaces changed."""
    async with db.read() as session:
        rows = (await session.execute(select(Workspace.id, Workspace.settings))).all()
    changed = 0
    for workspace_id in [workspace_id for workspace_id, settings in rows if _has_plain_values(settings or {})]:
        try:
            changed += await _seal_workspace(db, box, workspace_id)
        except ValidationError as exc:
            log.warning("action_headers.not_encrypted", workspace_id=workspace_id,
                        reason=f"a stored action is invalid: {exc.errors()[0]['msg']}")
    return changed


async def _seal_workspace(db: Database, box: SecretBox, workspace_id: str) -> int:
    async with db.transaction() as tx:
        workspace = await tx.get(Workspace, workspace_id, with_for_update=True)
        if workspace is None or not _has_plain_values(workspace.settings or {}):
            return 0
        settings = dict(workspace.settings)
        actions, sealed = seal(box, [ActionDefinition.model_validate(a) for a in _raw_actions(settings)], settings)
        settings["agent"] = {**settings["agent"], "actions": [a.model_dump(mode="json") for a in actions]}
        settings[SEALED_KEY] = sealed
        workspace.settings = settings
    log.info("action_headers.encrypted", workspace_id=workspace_id)
    return 1


def _has_plain_values(settings: Mapping[str, Any]) -> bool:
    return any(value != MASK for action in _raw_actions(settings) for value in (action.get("headers") or {}).values())
