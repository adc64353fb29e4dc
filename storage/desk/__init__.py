"""The agent desktop's tools: private notes on a conversation (agents and supervisors only), a workspace's
canned responses, and a customer's earlier conversations."""
