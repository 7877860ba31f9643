# policy/checks/local.mk - the checks a request goes through: the verdict
# type, access lists, SPF, greylisting, quotas, reputation, envelope
# addresses.
policy_libpolicy_la_SOURCES += \
	policy/checks/verdict.h policy/checks/verdict.c \
	policy/checks/access.h policy/checks/access.c \
	policy/checks/greylist.h policy/checks/greylist.c \
	policy/checks/quota.h policy/checks/quota.c \
	policy/checks/reputation.h policy/checks/reputation.c \
	policy/checks/address.h policy/checks/address.c \
	policy/checks/spf.h $(SPF_SRC)
