// Server-Sent Events over fetch(): EventSource cannot send the Authorization header.
// Each event's data is the whole run event {type, seq, run_id, data}.
import { createParser } from 'eventsource-parser';

/**
 * Read an event-stream Response to its end, calling onEvent for every run event.
 * Resolves when the server ends the stream; rejects when the connection breaks (or is aborted).
 * A partly received event at a break is dropped (it comes again on resume).
 */
export async function readEvents(response, onEvent) {
  const type = response.headers.get('content-type') || '';
  if (!type.startsWith('text/event-stream')) throw new Error(`expected an event stream, got ${type || 'nothing'}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent(message) {
      if (!message.data) return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(event);
    },
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
}
