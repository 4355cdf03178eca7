/** The workflows this worker runs (the bundle's entry point). */
export { deliverCallback } from './deliver-callback';
export { deliverMessage, heraldMessage } from './deliver-message';
