/** The exit-code table, shown in every command's --help and in the README. */
export const EXIT_CODES_HELP = `Exit codes (the same for every command):
  0   done; status: every shown app serves from a healthy live slot; diff: no differences
  1   a negative answer: diff found differences; status found an app needing attention
  2   usage error (bad flag, missing argument)
  3   not found (namespace, app, pair, Service, context)
  4   refused: a precondition is not met (idle slot not ready, check failed, ambiguous pair); nothing changed
      unless the message says what was done (deploy: a rollout that failed)
  5   conflict: the objects changed under us; nothing changed unless the message says what was done
  6   verification or a check after the switch failed; traffic was switched back (all-old)
  7   forbidden or unauthorized
  8   cluster unreachable or timed out; nothing changed unless the message says what was done
  9   traffic is split or its state is unknown: the message names each Service's slot; repair with promote or abort
  10  unexpected error
  130 interrupted (Ctrl-C); the message says where traffic is`;
