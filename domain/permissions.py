"""Conversations identity: the role types, the permissions each type may hold, the roles Twilio creates for a new
Conversation Service, and the one rule that answers "may this role do that" — plus the small enums and the limits
of users, user conversations and push credentials, named once here.

Twilio's two kinds of role: a `service` role is a User's (what it may do in the service: create and join
conversations, edit user info), a `conversation` role is a Participant's (what it may do in one conversation:
send, edit and delete messages, add and remove participants, leave). Roles only gate SDK (token) actions; REST
calls with account credentials bypass them (twilio-api.md §2.6)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidParameter

# --- limits: the page sizes and name lengths are Twilio's (Conversations v1 spec); the secret size is Parley's ---

USERS_MAX_PAGE_SIZE = 50
USER_CONVERSATIONS_MAX_PAGE_SIZE = 50
PARTICIPANT_CONVERSATIONS_MAX_PAGE_SIZE = 50
ROLES_MAX_PAGE_SIZE = 50
CREDENTIALS_MAX_PAGE_SIZE = 100
ROLE_FRIENDLY_NAME_LIMIT = 64  # a role's FriendlyName ("up to 64 characters long")
CREDENTIAL_FRIENDLY_NAME_LIMIT = 64  # a push credential's FriendlyName
CREDENTIAL_SECRET_LIMIT = 16 * 1024  # characters of a certificate, private key, API key or server key


class RoleType(StrEnum):
    CONVERSATION = "conversation"
    SERVICE = "service"


class Permission(StrEnum):
    """Every permission name Twilio's Conversations roles know (a role of a type may hold only its own)."""

    ADD_PARTICIPANT = "addParticipant"
    CREATE_CONVERSATION = "createConversation"
    DELETE_ANY_MESSAGE = "deleteAnyMessage"
    DELETE_CONVERSATION = "deleteConversation"
    DELETE_OWN_MESSAGE = "deleteOwnMessage"
    EDIT_ANY_MESSAGE = "editAnyMessage"
    EDIT_ANY_MESSAGE_ATTRIBUTES = "editAnyMessageAttributes"
    EDIT_ANY_USER_INFO = "editAnyUserInfo"
    EDIT_CONVERSATION_ATTRIBUTES = "editConversationAttributes"
    EDIT_CONVERSATION_NAME = "editConversationName"
    EDIT_OWN_MESSAGE = "editOwnMessage"
    EDIT_OWN_MESSAGE_ATTRIBUTES = "editOwnMessageAttributes"
    EDIT_OWN_USER_INFO = "editOwnUserInfo"
    JOIN_CONVERSATION = "joinConversation"
    LEAVE_CONVERSATION = "leaveConversation"
    REMOVE_PARTICIPANT = "removeParticipant"
    SEND_MEDIA_MESSAGE = "sendMediaMessage"
    SEND_MESSAGE = "sendMessage"


P = Permission

# What each type of role may hold (twilio-api.md §2.6, "Roles and permissions").
SERVICE_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        P.ADD_PARTICIPANT,
        P.CREATE_CONVERSATION,
        P.DELETE_ANY_MESSAGE,
        P.DELETE_CONVERSATION,
        P.EDIT_ANY_MESSAGE,
        P.EDIT_ANY_MESSAGE_ATTRIBUTES,
        P.EDIT_ANY_USER_INFO,
        P.EDIT_CONVERSATION_ATTRIBUTES,
        P.EDIT_CONVERSATION_NAME,
        P.EDIT_OWN_MESSAGE,
        P.EDIT_OWN_MESSAGE_ATTRIBUTES,
        P.EDIT_OWN_USER_INFO,
        P.JOIN_CONVERSATION,
        P.REMOVE_PARTICIPANT,
    }
)
CONVERSATION_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        P.ADD_PARTICIPANT,
        P.DELETE_ANY_MESSAGE,
        P.DELETE_OWN_MESSAGE,
        P.DELETE_CONVERSATION,
        P.EDIT_ANY_MESSAGE,
        P.EDIT_ANY_MESSAGE_ATTRIBUTES,
        P.EDIT_ANY_USER_INFO,
        P.EDIT_CONVERSATION_ATTRIBUTES,
        P.EDIT_CONVERSATION_NAME,
        P.EDIT_OWN_MESSAGE,
        P.EDIT_OWN_MESSAGE_ATTRIBUTES,
        P.EDIT_OWN_USER_INFO,
        P.LEAVE_CONVERSATION,
        P.REMOVE_PARTICIPANT,
        P.SEND_MEDIA_MESSAGE,
        P.SEND_MESSAGE,
    }
)
PERMISSIONS_OF: dict[RoleType, frozenset[Permission]] = {
    RoleType.SERVICE: SERVICE_PERMISSIONS,
    RoleType.CONVERSATION: CONVERSATION_PERMISSIONS,
}


def check_permissions(role_type: RoleType, names: Iterable[str]) -> list[Permission]:
    """A role's `Permission` values, de-duplicated in order: at least one, each one its type may hold (a name
    Twilio does not know, or one of the other type, is a 400 that names it)."""
    allowed = PERMISSIONS_OF[role_type]
    by_name = {p.value: p for p in Permission}
    out: list[Permission] = []
    for name in names:
        permission = by_name.get(name.strip())
        if permission is None or permission not in allowed:
            raise InvalidParameter(
                f"Permission '{name}' is not a {role_type.value} role permission; "
                f"allowed: {', '.join(sorted(p.value for p in allowed))}"
            )
        if permission not in out:
            out.append(permission)
    if not out:
        raise InvalidParameter("Missing required parameter Permission in the post body")
    return out


def allows(permissions: Collection[str], action: Permission) -> bool:
    """Whether a role holding `permissions` may perform `action`. Exactly the named permission: an `…Any…`
    permission also covers the matching `…Own…` one (who may edit any message may edit their own)."""
    if action.value in permissions:
        return True
    implied_by = _IMPLIED_BY.get(action)
    return implied_by is not None and implied_by.value in permissions


_IMPLIED_BY: dict[Permission, Permission] = {
    P.EDIT_OWN_MESSAGE: P.EDIT_ANY_MESSAGE,
    P.EDIT_OWN_MESSAGE_ATTRIBUTES: P.EDIT_ANY_MESSAGE_ATTRIBUTES,
    P.DELETE_OWN_MESSAGE: P.DELETE_ANY_MESSAGE,
    P.EDIT_OWN_USER_INFO: P.EDIT_ANY_USER_INFO,
}


# --- the roles a new Conversation Service starts with ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DefaultRole:
    friendly_name: str
    type: RoleType
    permissions: tuple[Permission, ...]


# Twilio creates these four with every Conversation Service (the names Programmable Chat gave them, kept by
# Conversations); their permission sets are Chat's published defaults in Conversations' names (channel →
# conversation, member → participant; Chat's inviteMember has no Conversations counterpart).
SERVICE_ADMIN = DefaultRole(
    "service admin",
    RoleType.SERVICE,
    (
        P.ADD_PARTICIPANT,
        P.CREATE_CONVERSATION,
        P.DELETE_ANY_MESSAGE,
        P.DELETE_CONVERSATION,
        P.EDIT_ANY_MESSAGE,
        P.EDIT_ANY_MESSAGE_ATTRIBUTES,
        P.EDIT_ANY_USER_INFO,
        P.EDIT_CONVERSATION_ATTRIBUTES,
        P.EDIT_CONVERSATION_NAME,
        P.JOIN_CONVERSATION,
        P.REMOVE_PARTICIPANT,
    ),
)
SERVICE_USER = DefaultRole(
    "service user",
    RoleType.SERVICE,
    (P.CREATE_CONVERSATION, P.EDIT_OWN_USER_INFO, P.JOIN_CONVERSATION),
)
CHANNEL_ADMIN = DefaultRole(
    "channel admin",
    RoleType.CONVERSATION,
    (
        P.ADD_PARTICIPANT,
        P.DELETE_ANY_MESSAGE,
        P.DELETE_CONVERSATION,
        P.EDIT_ANY_MESSAGE,
        P.EDIT_ANY_MESSAGE_ATTRIBUTES,
        P.EDIT_CONVERSATION_ATTRIBUTES,
        P.EDIT_CONVERSATION_NAME,
        P.REMOVE_PARTICIPANT,
        P.SEND_MESSAGE,
        P.SEND_MEDIA_MESSAGE,
        P.LEAVE_CONVERSATION,
        P.EDIT_OWN_MESSAGE,
        P.EDIT_OWN_MESSAGE_ATTRIBUTES,
        P.DELETE_OWN_MESSAGE,
    ),
)
CHANNEL_USER = DefaultRole(
    "channel user",
    RoleType.CONVERSATION,
    (
        P.SEND_MESSAGE,
        P.SEND_MEDIA_MESSAGE,
        P.LEAVE_CONVERSATION,
        P.EDIT_OWN_MESSAGE,
        P.EDIT_OWN_MESSAGE_ATTRIBUTES,
        P.DELETE_OWN_MESSAGE,
    ),
)
DEFAULT_ROLES: tuple[DefaultRole, ...] = (SERVICE_ADMIN, SERVICE_USER, CHANNEL_ADMIN, CHANNEL_USER)
# Which of them a new service's Configuration names: new users, new participants, a conversation's creator.
DEFAULT_CHAT_SERVICE_ROLE = SERVICE_USER
DEFAULT_CONVERSATION_ROLE = CHANNEL_USER
DEFAULT_CONVERSATION_CREATOR_ROLE = CHANNEL_ADMIN


# --- users' conversations and push credentials ----------------------------------------------------------------


class NotificationLevel(StrEnum):
    """A user's push notification setting for one conversation (`muted`: none for it)."""

    DEFAULT = "default"
    MUTED = "muted"


class CredentialType(StrEnum):
    """The push service a credential (`CR…`) is for."""

    APN = "apn"
    GCM = "gcm"
    FCM = "fcm"


def to_edit(*, own: bool, text: bool, attributes: bool) -> list[Permission]:
    """What editing a message needs: its text (`edit…Message`) and/or its attributes (`edit…MessageAttributes`),
    the `Own` permission for one's own message, the `Any` one for another's."""
    needed = []
    if text:
        needed.append(P.EDIT_OWN_MESSAGE if own else P.EDIT_ANY_MESSAGE)
    if attributes:
        needed.append(P.EDIT_OWN_MESSAGE_ATTRIBUTES if own else P.EDIT_ANY_MESSAGE_ATTRIBUTES)
    return needed


def to_delete(*, own: bool) -> Permission:
    return P.DELETE_OWN_MESSAGE if own else P.DELETE_ANY_MESSAGE
