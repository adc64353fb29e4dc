// How far this agent has read each conversation, as this browser saw it, kept across reloads. A message's `index`
// is monotonic per conversation, so one number per (agent, conversation) says which messages the agent has
// already seen. The server's read horizon (the agent's participant's `last_read_message_index`) is the other
// half: the desktop counts from the higher of the two (docs/agent-desktop.md).

const key = (agent, conversationSid) => `parley.agent.read.${agent}.${conversationSid}`;

/** The highest message index the agent has seen in the conversation, or -1 if none. */
export function readIndex(agent, conversationSid) {
  try {
    const value = localStorage.getItem(key(agent, conversationSid));
    const index = value === null ? NaN : Number(value);
    return Number.isFinite(index) ? index : -1;
  } catch {
    return -1; // storage disabled: nothing is remembered, everything still works
  }
}

export function storeReadIndex(agent, conversationSid, index) {
  try {
    localStorage.setItem(key(agent, conversationSid), String(index));
  } catch {
    // storage full or disabled: the mark lives for this page only
  }
}

export function forgetReadIndex(agent, conversationSid) {
  try {
    localStorage.removeItem(key(agent, conversationSid));
  } catch {
    // nothing to forget
  }
}
