"""Every default and limit Parley applies, named once. Values follow Twilio's published limits
(reference/twilio-api.md §8) unless a comment says why not."""

from __future__ import annotations

from datetime import timedelta

# --- TaskRouter --------------------------------------------------------------------------------------
DEFAULT_RESERVATION_TIMEOUT = 120  # seconds a worker has to answer an offer
MAX_RESERVATION_TIMEOUT = 86_400
DEFAULT_TASK_TTL = 86_400  # seconds a task may stay pending or reserved
MAX_TASK_TTL = 1_209_600  # two weeks
MAX_PRIORITY = 2**31 - 1
MAX_WORKFLOW_CONFIGURATION_BYTES = 1_038_576
MAX_TARGET_TIMEOUT = 1_209_600  # 14 days, Twilio's cap on a workflow step
MAX_CHANNEL_CAPACITY = 50  # tasks a worker may hold on one task channel
TASK_REASON_LIMIT = 1024
TASKROUTER_ATTRIBUTES_LIMIT = 4096  # characters of a task's or worker's Attributes
MAX_RESERVED_WORKERS = 50  # a queue's multi-reservation cap
DEFAULT_MAX_RESERVED_WORKERS = 1
DEFAULT_WORKER_CHANNEL_CAPACITY = 1
# How many times a task may move from pending to reserved before TaskRouter gives up and cancels it.
MAX_ASSIGNMENT_COUNT = 1000
# Seconds TaskRouter waits for an assignment callback URL to answer before it tries the fallback URL.
ASSIGNMENT_CALLBACK_TIMEOUT = 5.0
# Twilio cancels such a task with this reason (reference/twilio-api.md §4.6).
MAX_ASSIGNMENT_COUNT_REASON = "Task TTL Exceeded or Max assignment count exceeded"
TASK_TTL_REASON = "Task TTL Exceeded"
WORKFLOW_TIMEOUT_REASON = "Workflow Timeout"
FRIENDLY_NAME_LIMIT = 64  # TaskRouter friendly names
CALLBACK_URL_LIMIT = 2048
EVENTS_DEFAULT_MINUTES = 15
EVENTS_MAX_MINUTES = 43_200
# Cumulative statistics: the last 15 minutes unless asked otherwise, at most 30 days back (Twilio's figures).
STATISTICS_DEFAULT_MINUTES = 15
STATISTICS_MAX_MINUTES = 43_200
# Queues per bulk real-time statistics request (`POST /TaskQueues/RealTimeStatistics`).
BULK_QUEUE_STATISTICS_MAX = 50
# Waiting tasks a matching pass reads at a time, best first, while some worker still has room.
MATCHING_TASK_BATCH = 100
# Candidates written into a reservation's routing decision record (the rest are only counted).
MAX_CANDIDATES_RECORDED = 50

# --- Interactions ------------------------------------------------------------------------------------
# Seconds a transfer waits for its receiver before it fails (warm: the sender keeps the customer; cold: re-queued).
DEFAULT_TRANSFER_TIMEOUT = 300
# Times a channel whose task ended with nobody holding the customer (timed out, canceled, an agent gone, a
# cold transfer nobody took) is put back in its queue before it is closed by policy.
MAX_CHANNEL_REQUEUES = 3
# Seconds a returning customer's previous agent is offered the task alone before the queue takes over
# (a channel's `Routing.properties.known_agent_window`; 0 turns the preference off).
DEFAULT_KNOWN_AGENT_WINDOW = 60
# Seconds a parked channel (every agent left, customer silent) stays active before it is marked inactive (the
# customer's next message, or an invite, re-engages it) ...
PARKED_CHANNEL_INACTIVE_AFTER = 86_400
# ... and before it closes by policy.
PARKED_CHANNEL_CLOSE_AFTER = 7 * 86_400
# Seconds an agent's desktop may be disconnected before the agent is let go (settings.presence_grace); each
# api process refreshes its agents' presence a few times per grace period.
AGENT_PRESENCE_GRACE = 60.0
PRESENCE_HEARTBEATS_PER_GRACE = 4
# The largest per-stream sequence number and message index a real-time frame may name (an integer column).
MAX_STREAM_SEQ = 2**31 - 1
# Close code and error of a socket whose access token expired (docs/realtime.md); Twilio's 20104.
TOKEN_EXPIRED_CLOSE_CODE = 4001
TOKEN_EXPIRED_ERROR = 20104
TRANSFER_DECLINED_REASON = "Declined by the receiving agent"
TRANSFER_CANCELED_REASON = "Transfer taken back by the sender"
TRANSFER_TIMEOUT_REASON = "Transfer timed out: nobody accepted"
CHANNEL_CLOSED_REASON = "Interaction channel closed"
AGENT_GONE_REASON = "The agent's desktop went away holding the conversation"
WRAPUP_TIMEOUT_REASON = "Wrap-up timed out"

# --- Conversations -----------------------------------------------------------------------------------
MESSAGE_BODY_LIMIT = 32 * 1024
MESSAGE_ATTRIBUTES_LIMIT = 4 * 1024
CONVERSATION_ATTRIBUTES_LIMIT = 16 * 1024
PARTICIPANT_ATTRIBUTES_LIMIT = 4 * 1024
CONVERSATIONS_NAME_LIMIT = 256  # FriendlyName, UniqueName, Identity, Author, binding addresses
MIN_INACTIVE_TIMER = timedelta(minutes=1)  # Timers.Inactive
MIN_CLOSED_TIMER = timedelta(minutes=10)  # Timers.Closed
TIMER_CLOSED_REASON = "The conversation's Timers.Closed ran out"
CONVERSATION_CLOSED_REASON = "The conversation was closed"
CONVERSATION_WITH_PARTICIPANTS_LIMIT = 10  # participants of one ConversationWithParticipants request
CONVERSATION_WEBHOOKS_LIMIT = 5  # conversation-scoped webhooks per conversation (50361)
CONVERSATION_WEBHOOK_URL_LIMIT = 512  # a conversation-scoped webhook's URL (50372)
TRIGGERS_LIMIT = 5  # keywords of a trigger webhook (50362)
TRIGGER_LENGTH_LIMIT = 248  # characters of one keyword (50366)

# --- Media (the Media Content Service) ------------------------------------------------------------------
MEDIA_MAX_BYTES = 16 * 1024 * 1024  # one upload (Twilio's MMS carriers take 5 MB; chat is allowed more)
MEDIA_PER_MESSAGE_LIMIT = 10
# What may be uploaded: pictures, sound, video and documents a contact center exchanges.
MEDIA_CONTENT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/mp4",
        "video/mp4",
        "application/pdf",
        "text/plain",
    }
)
MEDIA_FILENAME_LIMIT = 256

# --- Webhooks ----------------------------------------------------------------------------------------
WEBHOOK_TIMEOUT = 5.0  # seconds Twilio waits for a webhook to answer (pre-events proceed unchanged after it)
EVENT_CALLBACK_TIMEOUT = 15.0  # seconds Twilio gives a workspace's EventCallbackUrl to answer
# A post-event whose target does not answer is retried with backoff (1 s, 2 s, 4 s, … capped) for this long,
# then given up (the delivery workflow fails, visible in the Temporal UI).
WEBHOOK_RETRY_INITIAL = 1.0
WEBHOOK_RETRY_MAX_INTERVAL = 300.0
WEBHOOK_RETRY_WINDOW = 24 * 3600
WEBHOOK_USER_AGENT = "TwilioProxy/1.1"
# Seconds an api process keeps an account's pre-event URLs before reading them again (a change made through
# another process takes effect within this; one made through the same process at once).
PRE_EVENT_CONFIG_TTL = 1.0

# --- The agent desktop's tools (storage/desk) ---------------------------------------------------------
PRIVATE_NOTE_MAX_LENGTH = 4096
CANNED_RESPONSE_TITLE_MAX_LENGTH = 100
CANNED_RESPONSE_BODY_MAX_LENGTH = 1600  # what a reply may hold
CANNED_RESPONSE_SHORTCUT_MAX_LENGTH = 32
CANNED_RESPONSES_PER_WORKSPACE = 500
# A customer's earlier conversations the desktop shows beside a chat (newest first).
CUSTOMER_HISTORY_LIMIT = 20
# History search (domain/search.py, storage/search): words indexed per message, words a query may have, a
# word's indexed length, conversations a search answers, matching messages shown per conversation.
SEARCH_MAX_TERMS_PER_MESSAGE = 200
SEARCH_MAX_QUERY_TERMS = 8
SEARCH_QUERY_MAX_LENGTH = 200
SEARCH_TERM_MAX_LENGTH = 64
SEARCH_RESULTS_LIMIT = 20
SEARCH_SNIPPETS_PER_CONVERSATION = 3

# --- Paging ------------------------------------------------------------------------------------------
DEFAULT_PAGE_SIZE = 50
CONVERSATIONS_MAX_PAGE_SIZE = 100
ADDRESSES_MAX_PAGE_SIZE = 50
RECEIPTS_MAX_PAGE_SIZE = 50
TASKROUTER_MAX_PAGE_SIZE = 1000

# --- HTTP ---------------------------------------------------------------------------------------------
HTTP_KEEP_ALIVE = 75  # seconds an idle client connection stays open (more than clients' own 5 s)

# --- Dependencies and back-pressure (docs/operations.md) ---------------------------------------------
# Seconds a request waits for a PostgreSQL connection from its api process's pool (PARLEY_DB_ACQUIRE_TIMEOUT):
# none within it (PostgreSQL down, or every connection busy) and the request is answered 503 with Retry-After
# instead of queueing. The worker and the scripts wait longer: nobody holds a socket open for them.
DB_ACQUIRE_TIMEOUT = 3.0
DB_BACKGROUND_ACQUIRE_TIMEOUT = 30.0
# Seconds the pool keeps retrying (1 s, 2 s, 4 s, …) to replace a lost connection before it gives up; the next
# request that finds the pool empty starts again at once, so a PostgreSQL that is back is found within seconds.
DB_RECONNECT_TIMEOUT = 10.0
# The Retry-After (seconds) of a 503 because PostgreSQL or Temporal does not answer.
DEPENDENCY_RETRY_AFTER = 5
# HTTP requests one api process handles at once (PARLEY_MAX_IN_FLIGHT_REQUESTS); one more is answered 503 with
# Retry-After OVERLOAD_RETRY_AFTER at once. WebSockets are not counted (their frames have their own limits).
MAX_IN_FLIGHT_REQUESTS = 512
OVERLOAD_RETRY_AFTER = 1
# Seconds /healthz gives each dependency to answer.
HEALTH_CHECK_TIMEOUT = 3.0

# --- Access tokens -----------------------------------------------------------------------------------
DEFAULT_TOKEN_TTL = 3600
MIN_TOKEN_TTL = 60
MAX_TOKEN_TTL = 86_400
WEBCHAT_TOKEN_TTL = 4 * 3600
# A web-chat token can be exchanged for a new one (POST /flex-api/v2/WebChats/Tokens/Refresh) up to this long
# after it expired, while its conversation is open: the customer who comes back the next morning resumes.
WEBCHAT_REFRESH_GRACE = 24 * 3600
# The web chat's wait estimate: the queue's average wait until accepted over this many seconds, times the place.
WAIT_ESTIMATE_WINDOW = 3600
# A web chat address's pre-chat form (domain/webchat.py): fields, a select's options, a field's longest value.
PRE_CHAT_MAX_FIELDS = 10
PRE_CHAT_MAX_OPTIONS = 50
PRE_CHAT_FIELD_MAX_LENGTH = 1600
# The message a web chat may start with (the offline form's): as long as the widget's composer allows.
WEBCHAT_FIRST_MESSAGE_MAX_LENGTH = 1600
# A message left when nobody could answer waits this long for an agent (a live chat's task: DEFAULT_TASK_TTL).
WEBCHAT_OFFLINE_TASK_TTL = 7 * 86_400
# A site's signed identity token (IdentityToken) may be valid for at most this long: it is minted per page view.
WEBCHAT_IDENTITY_TOKEN_MAX_TTL = 24 * 3600
# The shortest IdentitySecret accepted (HS256's key should be as long as its 32-byte hash).
WEBCHAT_IDENTITY_SECRET_MIN_LENGTH = 32

# --- Outbox ------------------------------------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = 12  # then the row is dead-lettered (with backoff that is about an hour of retrying)
OUTBOX_BACKOFF_INITIAL = 1.0  # seconds before the first retry; doubles per attempt
OUTBOX_BACKOFF_MAX = 600.0
OUTBOX_REDRIVE_BATCH = 500

# --- Abuse limits ------------------------------------------------------------------------------------
# Enforced in each api process separately (in memory): with N processes a client may get up to N times these.
# The rate limits and the auth back-off can be tuned per deployment (core/settings.py, "# Abuse limits":
# PARLEY_CREDENTIAL_REQUESTS_PER_SECOND and so on; docs/security/abuse-limits.md).
# Per credential (the Basic username, or an access token's identity): far above what a contact center's own
# servers, desktops and supervisors send, so only a runaway script or a stolen key ever meets it.
CREDENTIAL_REQUESTS_PER_SECOND = 300.0
CREDENTIAL_REQUEST_BURST = 600
# The public web chat start (POST /flex-api/v2/WebChats), per client IP and address configuration: one
# visitor's browser starts a chat now and then; a script creating conversations (and tasks for agents) is
# cut off after the burst.
WEBCHAT_STARTS_PER_MINUTE = 10.0
WEBCHAT_START_BURST = 10
# Failed authentication: this many failures within the window for one Basic username (an Account or API key
# SID), or from one client IP (any scheme), and every attempt for it is a 429 until the oldest failure ages
# out; the password is not even checked meanwhile.
AUTH_FAILURES_PER_USERNAME = 10
AUTH_FAILURES_PER_IP = 50
AUTH_FAILURE_WINDOW = 300.0  # seconds
# Frames one WebSocket may send per second (sustained, and in a burst: a desktop re-subscribing to all its
# conversations at once); frames over it are answered with an error and not acted on.
WEBSOCKET_FRAMES_PER_SECOND = 50.0
WEBSOCKET_FRAME_BURST = 200
# Request bodies (form or JSON) are refused with a 413 above this, before the route runs ...
REQUEST_BODY_LIMIT = 1024 * 1024
# ... but for a workflow's, whose Configuration may be MAX_WORKFLOW_CONFIGURATION_BYTES of JSON, which form
# encoding can triple. Media uploads have MEDIA_MAX_BYTES.
WORKFLOW_BODY_LIMIT = 4 * 1024 * 1024
# Keys (credentials, IPs, usernames) one process tracks per limit before it forgets idle ones.
ABUSE_TRACKED_KEYS = 100_000

# --- Audit log ---------------------------------------------------------------------------------------
# GET /parley/v1/AuditEvents reads the last 30 days unless StartDate/EndDate/Minutes say otherwise.
AUDIT_DEFAULT_MINUTES = 30 * 24 * 60
AUDIT_MAX_MINUTES = 366 * 24 * 60

# Channels (SMS, WhatsApp, Messenger through a provider; channels/, activities/channels.py).
CHANNEL_SEND_TIMEOUT = 15.0  # seconds one send request to a provider may take
CHANNEL_RETRY_INITIAL = 1.0  # first retry of a send the provider could not take (5xx, unreachable)
CHANNEL_RETRY_MAX_INTERVAL = 120.0
CHANNEL_RETRY_WINDOW = 24 * 3600  # a message still not taken after this is failed (receipt `failed`, 30008)
CHANNEL_MEDIA_LINK_TTL = 3600  # seconds a provider may fetch an outbound attachment's temporary URL
CHANNEL_INBOUND_MEDIA_TIMEOUT = 10.0  # seconds to fetch one inbound attachment from the provider
