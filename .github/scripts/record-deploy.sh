#!/usr/bin/env bash
# Record a deployed engine in the config, regenerate the docs, then open a pull request with
# the change (MODE=pull-request) or push it to the checked-out branch (MODE=commit).
#
# .github/workflows/record-deploy.yml runs it after a deploy job; it reads everything from the
# environment, so it runs the same way on a laptop:
#
#   AGENT       agent key in the config                      (required)
#   ENV_NAME    environment name                             (required)
#   DEPLOY_LOG  the deploy job's log file                    (required)
#   BY          who recorded it (github.actor in CI)         (required)
#   LINK        where it happened (the run's URL in CI)      (required)
#   STATUS      deployed | validated                         (default: deployed)
#   MODE        pull-request | commit                        (default: pull-request)
#   BRANCH      the pull request's branch                    (default: record-deploy/<agent>-<env>-<UTC time>)
#   GH_TOKEN    token for `git push` and `gh pr create`; unset: git's own credentials and gh's login
#   PUSH        false: stop after the commit (to try it locally); default: true
#   PROMOTION   the CLI                                      (default: .venv/bin/promotion)
#
# Exit codes: 0 recorded (or already recorded: nothing to commit), 64 bad environment
# variables, anything else is the failing command's (promotion record: 1 config wrong or no
# engine found in the log, 2 not allowed to promote yet).
set -euo pipefail

readonly EX_USAGE=64

usage_error() {
  echo "::error::record-deploy: $*" >&2
  exit "$EX_USAGE"
}

for name in AGENT ENV_NAME DEPLOY_LOG BY LINK; do
  [ -n "${!name:-}" ] || usage_error "$name is not set"
done
STATUS=${STATUS:-deployed}
MODE=${MODE:-pull-request}
PUSH=${PUSH:-true}
case "$STATUS" in deployed | validated) ;; *) usage_error "STATUS must be deployed or validated, not '$STATUS'" ;; esac
case "$MODE" in pull-request | commit) ;; *) usage_error "MODE must be pull-request or commit, not '$MODE'" ;; esac
case "$PUSH" in true | false) ;; *) usage_error "PUSH must be true or false, not '$PUSH'" ;; esac
[ -f "$DEPLOY_LOG" ] || usage_error "DEPLOY_LOG '$DEPLOY_LOG' is not a file"
DEPLOY_LOG=$(cd "$(dirname "$DEPLOY_LOG")" && pwd)/$(basename "$DEPLOY_LOG")

cd "$(dirname "$0")/../.."
PROMOTION=${PROMOTION:-.venv/bin/promotion}

# The commit takes config/, site-docs/ and CLAUDE.md whole: anything already changed there
# would go in with it.
if [ -n "$(git status --porcelain -- config site-docs CLAUDE.md)" ]; then
  usage_error "config/, site-docs/ or CLAUDE.md has uncommitted changes; commit or stash them first"
fi
base=$(git symbolic-ref --quiet --short HEAD) ||
  usage_error "HEAD is detached; check out the branch the record belongs on"

if [ "$MODE" = pull-request ]; then
  BRANCH=${BRANCH:-record-deploy/$AGENT-$ENV_NAME-$(date -u +%Y%m%dT%H%M%SZ)}
  git check-ref-format --branch "$BRANCH" >/dev/null || usage_error "BRANCH '$BRANCH' is not a valid branch name"
fi

recorded=$("$PROMOTION" record --agent "$AGENT" --env "$ENV_NAME" --from-deploy-log "$DEPLOY_LOG" \
  --status "$STATUS" --by "$BY" --link "$LINK")
printf '%s\n' "$recorded"
"$PROMOTION" generate

git add -- config site-docs CLAUDE.md
if git diff --cached --quiet; then
  echo "record-deploy: $AGENT in $ENV_NAME is already recorded; nothing to commit"
  exit 0
fi

# The config's commit message convention, as `promotion record` prints it.
title=$(printf '%s\n' "$recorded" | sed -n 's/^commit message: //p')
[ -n "$title" ] || title="config: update $AGENT $ENV_NAME engine ID after deployment"
body="Recorded with status \`$STATUS\` by $BY from the deploy log of $LINK."
if [ "$MODE" = pull-request ]; then git switch --quiet -c "$BRANCH"; fi
git commit --quiet -m "$title" -m "$body"
git log -1 --stat --format='%h %s'

if [ "$PUSH" = false ]; then
  echo "record-deploy: PUSH=false, leaving the commit on $(git symbolic-ref --short HEAD)"
  exit 0
fi

# The token reaches git through a credential helper that reads it from the environment, so it
# is never written to .git/config nor shown in a process's arguments.
push() {
  if [ -n "${GH_TOKEN:-}" ]; then
    # shellcheck disable=SC2016 # $GH_TOKEN is expanded by the helper, when git calls it
    git -c credential.helper= \
      -c 'credential.helper=!f() { if [ "$1" = get ]; then echo username=x-access-token; echo "password=$GH_TOKEN"; fi; }; f' \
      push --quiet origin "$@"
  else
    git push --quiet origin "$@"
  fi
}

if [ "$MODE" = commit ]; then
  push "HEAD:refs/heads/$base"
  echo "record-deploy: pushed to $base"
else
  push "HEAD:refs/heads/$BRANCH"
  gh pr create --base "$base" --head "$BRANCH" --title "$title" --body "$body"
fi
