/** All of Herald's activities; workflows import this module only as a type. */
import { createDeadLetterActivities } from './dead-letter';
import { createDeliveryActivities } from './delivery';
import { createEventActivities } from './events';
import { createNotifyActivities } from './notify';
import { createOrderingActivities } from './ordering';
import { createSettingsActivities } from './settings';

export {
  createDeadLetterActivities,
  createDeliveryActivities,
  createEventActivities,
  createNotifyActivities,
  createOrderingActivities,
  createSettingsActivities,
};
export type { NotifyInput } from './notify';
export type { DeliverInput, DeliveryReceipt } from './delivery';
export type { PredecessorState } from './ordering';

export type HeraldActivities = ReturnType<typeof createDeliveryActivities> &
  ReturnType<typeof createDeadLetterActivities> &
  ReturnType<typeof createSettingsActivities> &
  ReturnType<typeof createNotifyActivities> &
  ReturnType<typeof createEventActivities> &
  ReturnType<typeof createOrderingActivities>;
