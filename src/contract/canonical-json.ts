/**
 * Canonical JSON. It walks the value with its own stack rather than recursing, so no nesting depth can
 * overflow the call stack; the output is exactly what the recursive version produced, so content hashes
 * already stored in workflow memos still match.
 */
type Step =
  | { kind: 'text'; text: string }
  | { kind: 'value'; value: unknown; inArray: boolean }
  | { kind: 'leave'; container: object };

/** JSON with object keys sorted, so equal content always serialises the same way (content hashes, outbox). */
export function canonicalJson(value: unknown): string {
  if (!value || typeof value !== 'object') return JSON.stringify(value);
  const out: string[] = [];
  // Containers being written, to refuse a cycle as JSON.stringify does (instead of looping forever).
  const open = new Set<object>();
  const steps: Step[] = [{ kind: 'value', value, inArray: false }];
  while (steps.length > 0) {
    const step = steps.pop()!;
    if (step.kind === 'text') {
      out.push(step.text);
    } else if (step.kind === 'leave') {
      open.delete(step.container);
    } else if (step.value && typeof step.value === 'object') {
      const container = step.value;
      if (open.has(container)) throw new TypeError('canonicalJson: the value contains a cycle');
      open.add(container);
      // Steps run last-pushed first, so each container's parts are pushed in reverse.
      const parts: Step[] = [];
      if (Array.isArray(container)) {
        parts.push({ kind: 'text', text: '[' });
        for (let i = 0; i < container.length; i++) {
          if (i > 0) parts.push({ kind: 'text', text: ',' });
          parts.push({ kind: 'value', value: container[i] as unknown, inArray: true });
        }
        parts.push({ kind: 'text', text: ']' });
      } else {
        const entries = Object.entries(container as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        parts.push({ kind: 'text', text: '{' });
        entries.forEach(([k, v], i) => {
          parts.push({ kind: 'text', text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` });
          parts.push({ kind: 'value', value: v, inArray: false });
        });
        parts.push({ kind: 'text', text: '}' });
      }
      steps.push({ kind: 'leave', container });
      for (let i = parts.length - 1; i >= 0; i--) steps.push(parts[i]!);
    } else {
      // What JSON.stringify cannot write (undefined, a function) was "" in an array and "undefined"
      // as an object value in the recursive version; kept so that hashes do not change.
      const text = JSON.stringify(step.value) as string | undefined;
      out.push(text ?? (step.inArray ? '' : 'undefined'));
    }
  }
  return out.join('');
}
