/**
 * Response schemas of /v1/destinations and /v1/settings/retries: pure TypeBox, so the client types
 * from them without loading the routes (which need Fastify's decorations).
 */
import { Type } from '@sinclair/typebox';
import { DestinationChangeSchema, DestinationRecordSchema, GlobalSettingsSchema } from '../contract/destination';

export const WokenSchema = Type.Object({
  requested: Type.Boolean({ description: 'true when waiting messages are being woken (in the background, paced)' }),
});
export const BreakerSnapshotSchema = Type.Object({
  state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  openedAt: Type.Union([Type.String(), Type.Null()]),
  window: Type.Object({ attempts: Type.Integer(), failures: Type.Integer(), consecutiveFailures: Type.Integer() }),
  probesInFlight: Type.Integer(),
});
export const DestinationViewSchema = Type.Object({
  ...DestinationRecordSchema.properties,
  breakerSnapshot: Type.Optional(BreakerSnapshotSchema),
  leasesInFlight: Type.Integer(),
  deadLettersWaiting: Type.Integer(),
  running: Type.Object({ delivering: Type.Integer(), paused: Type.Integer(), awaiting_reply: Type.Integer() }),
});
export const DestinationChangedSchema = Type.Object({ ...DestinationRecordSchema.properties, woken: WokenSchema });
export const DestinationHistorySchema = Type.Object({ items: Type.Array(DestinationChangeSchema) });
export const RetriesChangedSchema = Type.Object({ ...GlobalSettingsSchema.properties, woken: WokenSchema });
