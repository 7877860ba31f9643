# policy/frontends/local.mk - the front-ends' shared pieces: the policy
# protocol codec, milter header bookkeeping and sessions, client warning
# limits.
policy_libpolicy_la_SOURCES += \
	policy/frontends/request.h policy/frontends/request.c \
	policy/frontends/milter_headers.h policy/frontends/milter_headers.c \
	policy/frontends/milter_sessions.h policy/frontends/milter_sessions.c \
	policy/frontends/warn_limit.h policy/frontends/warn_limit.c
