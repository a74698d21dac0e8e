// JSON.parse for files that hold keys. V8's syntax errors quote the text around the fault ('..."masterKey":
// 'cf50f0"... is not valid JSON'), which would put key bytes in an error message: say where, never what.

/** The parsed value, or a message giving only the line and column of the fault. */
export function parseSecretJson(text: string): { ok: true; json: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    if (at === null) return { ok: false, message: 'not valid JSON' };
    const before = text.slice(0, Number(at[1])).split('\n');
    return {
      ok: false,
      message: `not valid JSON (line ${before.length}, column ${before.at(-1)!.length + 1})`,
    };
  }
}
