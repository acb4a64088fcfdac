/** Most bytes of an error response the client reads for its message: enough for a JSON `{ message }`. */
const LIMIT = 2048;

/**
 * The message an error response carries (`{"message": "…"}` from ssekit's routes, or its text), read up to a
 * bound and trimmed; `''` when there is none or it cannot be read.
 */
export async function readErrorMessage(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  let text = '';
  const decoder = new TextDecoder();
  try {
    while (text.length < LIMIT) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch {
    return '';
  } finally {
    reader.cancel().catch(() => undefined);
  }
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof message === 'string') text = message;
  } catch {
    // Not JSON: the text itself.
  }
  return text.trim().slice(0, 200);
}
