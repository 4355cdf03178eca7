/** The CLI's help text: `herald --help`. */
export const USAGE = `Usage: herald <command> [options]

Send messages through Herald, follow them, and operate its dead-letter queue.

Commands:
  send --url URL [--data JSON|@file.json|@-] [--method POST] [--header 'K: V']...
       [--id ID] [--reply-timeout 5m] [--ordering-key KEY [--ordering-dead-letter skip|block]]
       [--wait] [--timeout 2m] [--json]
                        send a message (the client assigns a msg_… id when --id is not given);
                        messages with one --ordering-key are delivered one at a time, in the order
                        sent; --wait waits for its outcome, showing progress on stderr
  status ID [--json]    show a message's status
  wait ID [--timeout 5m] [--json]
                        wait until a message ends, showing each state change on stderr
  dlq list [--reason R] [--destination HOST] [--kind K] [--state S] [--limit N] [--cursor C] [--json]
                        list dead letters, oldest first (a table by default)
  dlq redrive ID [--json]
  dlq redrive (--reason R | --destination HOST | --kind K | --all) [--json]
                        redrive one dead letter, or every parked one that matches (one by one,
                        with progress on stderr)
  destinations list|show HOST|pause HOST|resume HOST|history HOST [--json]
  destinations set HOST [--rate-limit N|off] [--max-concurrency N|off] [--retry-initial 1s]
       [--retry-max-interval 1m] [--retry-coefficient 2] [--retry-attempts 5] [--retry-jitter 0.2]
       [--attempt-timeout 10s] [--retry-clear] [--breaker-ratio 0.5 --breaker-window 1m
       --breaker-min-attempts 10 --breaker-consecutive 5 --breaker-cooldown 30s --breaker-probes 1
       | --breaker-off] [--json]
                        run-time destination settings (a resume wakes waiting messages, paced)
  retries on|off|status [--json]
                        the global retry switch
  tail [--json]         print message state changes as they happen (Server-Sent Events), until interrupted

Options for every command:
  --api-url URL         the Herald API (env HERALD_URL; default http://127.0.0.1:3000); on commands
                        other than send, --url means the same (on send, --url is the destination)
  --api-key KEY         an API key (env HERALD_API_KEY; default: the contents of .data/dev-api-key,
                        which \`npm start\` writes)
  --json                print exactly one JSON document on stdout (tail: one per line)
  -h, --help            show this help

Results go to stdout; progress and errors go to stderr.

Exit codes:
  0  success
  1  the message ended badly (dead_lettered, discarded, cancelled, rejected, terminated or timed_out)
     for send --wait and wait
  2  usage error
  3  the API refused the request (4xx)
  4  the API was unreachable, answered 5xx, or did not answer in time; or --timeout passed before the
     message ended (it goes on)
`;
