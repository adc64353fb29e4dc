// Wrap-up dispositions: how a chat ended, picked by the agent before completing its task and written to the
// task's attributes as `conversations.outcome` (the Flex Insights field), so reports can count outcomes.

/** The disposition codes an agent can pick, in the order shown. The code is what is stored. */
export const DISPOSITIONS = Object.freeze(["Resolved", "Follow-up needed", "Escalated", "No response"]);

/** Fills `container` with one radio button per disposition (name `disposition`); returns the inputs. */
export function dispositionChoices(container) {
  const inputs = DISPOSITIONS.map((code, i) => {
    const label = document.createElement("label");
    label.className = "choice";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "disposition";
    input.value = code;
    input.id = `disposition-${i}`;
    label.append(input, ` ${code}`);
    container.append(label);
    return input;
  });
  return inputs;
}

/** The task attributes with `outcome` merged into `conversations` (everything else kept as it was). */
export function withOutcome(attributes, outcome) {
  const conversations = attributes.conversations && typeof attributes.conversations === "object"
    ? attributes.conversations : {};
  return { ...attributes, conversations: { ...conversations, outcome } };
}
