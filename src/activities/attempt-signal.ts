/**
 * The abort signal of one HTTP attempt: the attempt timeout or the activity's cancellation, whichever
 * comes first. Built on a plain AbortController and timer rather than `AbortSignal.any([AbortSignal.timeout()])`:
 * on Node 20 the signal that `any` composes holds its sources weakly, and a garbage collection in the middle
 * of an attempt could drop the timeout, so a hung destination held the attempt until it answered (seen in
 * test/activities/delivery.test.ts). The caller disposes of it when the attempt is over.
 */
export interface AttemptSignal {
  signal: AbortSignal;
  dispose(): void;
}

export function attemptSignal(timeoutMs: number, cancellation: AbortSignal): AttemptSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`the attempt timed out after ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  const onCancel = () => controller.abort(cancellation.reason);
  if (cancellation.aborted) onCancel();
  else cancellation.addEventListener('abort', onCancel, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      cancellation.removeEventListener('abort', onCancel);
    },
  };
}
