# policy/frontends/local.mk - the front-ends' shared pieces: the policy
# protocol codec, the milter protocol (packets, connections, listener: no
# library needed, so they are built in every build), milter header
# bookkeeping and sessions, client warning limits.
policy_libpolicy_la_SOURCES += \
	policy/frontends/request.h policy/frontends/request.c \
	policy/frontends/milter_wire.h policy/frontends/milter_wire.c \
	policy/frontends/milter_conn.h policy/frontends/milter_conn.c \
	policy/frontends/milter_server.h policy/frontends/milter_server.c \
	policy/frontends/milter_headers.h policy/frontends/milter_headers.c \
	policy/frontends/milter_sessions.h policy/frontends/milter_sessions.c \
	policy/frontends/warn_limit.h policy/frontends/warn_limit.c
# The stamping milter (the sending side, stamp_listen): also built in
# every build, on the same protocol code.
policy_libpolicy_la_SOURCES += \
	policy/frontends/stamp_config.h policy/frontends/stamp_config.c \
	policy/frontends/stamp_decide.h policy/frontends/stamp_decide.c \
	policy/frontends/stamp_mint.h policy/frontends/stamp_mint.c \
	policy/frontends/stamp_copy.h policy/frontends/stamp_copy.c \
	policy/frontends/stamp_milter.h policy/frontends/stamp_milter.c
# The metrics endpoint (metrics_listen), over libmicrohttpd when it is
# built in; without it the file only refuses metrics_listen.
policy_libpolicy_la_SOURCES += \
	policy/frontends/metrics_http.h policy/frontends/metrics_http.c
