"""Custom search attributes that make conversations findable in the Temporal UI. Never PII here: search
attributes are not encrypted (customer details go in the memo, which the codec encrypts)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ACCOUNT_SID = SearchAttributeKey.for_keyword("ParleyAccountSid")
CHANNEL_TYPE = SearchAttributeKey.for_keyword("ParleyChannelType")
STATUS = SearchAttributeKey.for_keyword("ParleyStatus")
QUEUE_SID = SearchAttributeKey.for_keyword("ParleyQueueSid")
WORKER_SID = SearchAttributeKey.for_keyword("ParleyWorkerSid")
TASK_STATUS = SearchAttributeKey.for_keyword("ParleyTaskStatus")
# The conversation (CH…) a channel or task serves: find a conversation's workflows by the SID agents see.
CONVERSATION_SID = SearchAttributeKey.for_keyword("ParleyConversationSid")

ALL = [ACCOUNT_SID, CHANNEL_TYPE, STATUS, QUEUE_SID, WORKER_SID, TASK_STATUS, CONVERSATION_SID]
