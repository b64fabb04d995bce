// Drives one AG-UI thread of the `scripted` test workflow with the published client
// (@ag-ui/client's HttpAgent, what CopilotKit's runtime uses), answering each question the run
// leaves pending, then once more with nothing new. Prints what the client saw as JSON.
//
//   node drive.mjs <agent url> <bearer token> <thread id>
//
// The client checks the event stream itself (its verifier throws on any protocol breach) and
// keeps the messages and state the way CopilotKit does.
import { HttpAgent } from "@ag-ui/client";

const [url, token, threadId] = process.argv.slice(2);
const agent = new HttpAgent({ url, threadId, headers: { Authorization: `Bearer ${token}` } });
const answers = { human_input: "Ada", confirm: JSON.stringify({ ok: true }) };
const runs = [];

async function run() {
  const seen = { types: [], pending: [], errors: [] };
  await agent.runAgent(
    {},
    {
      onEvent: ({ event }) => {
        seen.types.push(event.type);
      },
      onRunFinishedEvent: (params) => {
        seen.outcome = params.outcome;
        seen.pending = params.pendingToolCallIds ?? [];
      },
      onRunFailed: ({ error }) => {
        seen.errors.push(String(error));
      },
    },
  );
  runs.push(seen);
  return seen;
}

function toolName(callId) {
  for (const message of agent.messages) {
    for (const call of message.toolCalls ?? []) {
      if (call.id === callId) return call.function.name;
    }
  }
  throw new Error(`no tool call ${callId} in the client's messages`);
}

agent.addMessage({ id: `u-${Date.now()}`, role: "user", content: "hi" });
let seen = await run();
while (seen.pending.length > 0 && runs.length < 5) {
  for (const callId of seen.pending) {
    const content = answers[toolName(callId)];
    agent.addMessage({ id: `t-${callId}`, role: "tool", toolCallId: callId, content });
  }
  seen = await run();
}
await run(); // nothing new: the run only confirms the thread's state

console.log(JSON.stringify({ runs, messages: agent.messages, state: agent.state }));
