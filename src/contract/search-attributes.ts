/**
 * Herald's custom search attributes. They must be registered on the namespace (`npm start` and the
 * tests do it) before a workflow can upsert them, after which
 * `temporal workflow list --query "HeraldState='dead_lettered'"` and the Web UI can filter by them.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The message state (see MessageState). */
export const HERALD_STATE = defineSearchAttributeKey('HeraldState', SearchAttributeType.KEYWORD);
/** The destination host, e.g. `api.example.com:8443`. */
export const HERALD_DESTINATION = defineSearchAttributeKey('HeraldDestination', SearchAttributeType.KEYWORD);

/**
 * The name of the API key that sent the message (absent for one started outside the API). Set once at
 * start, never changed: it scopes a sender key's message list (`HeraldSender = '<name>'`).
 */
export const HERALD_SENDER = defineSearchAttributeKey('HeraldSender', SearchAttributeType.KEYWORD);

export const HERALD_SEARCH_ATTRIBUTES = [HERALD_STATE, HERALD_DESTINATION, HERALD_SENDER];
