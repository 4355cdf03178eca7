/** The workflows this worker runs (the bundle's entry point). */
export { deliverMessage } from './deliver-message';
