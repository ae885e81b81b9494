# Tests of a fresh Debian 12 machine and of the packages of make deb
# (tests/debian): debootstrapped chroots, so root and this machine's
# Debian mirror. make test runs them as its "debian" stage; one base is
# made per build directory.
#
#   make check-debian            all of them
#   make check-debian T='fresh_*'
check-debian: deb
	CNBD_BUILD=$(B) CNBD_DEBS=$(abspath $(DEB_OUT)) tests/run --dir tests/debian --timeout 1800 $(T)

.PHONY: check-debian
