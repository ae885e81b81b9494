# make deb: the packages of debian/ (cnbd-server, cnbd-client,
# libcnbd-dev, cnbd-backend-rbd), built with dpkg-buildpackage in a copy
# of the tree, so that neither dh's files nor the .debs (which dpkg puts
# beside the tree) land in the checkout: they are in $(DEB_OUT).
DEB_OUT := build/deb

deb:
	deps/install-deps build ceph packaging
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_OUT)/cnbd
	tar -c --exclude=./build --exclude=./.git . | tar -x -C $(DEB_OUT)/cnbd
	# Without this make's variables (T=, SANITIZE=1 from the command line
	# travel in MAKEFLAGS): the package build is the same whoever asks.
	cd $(DEB_OUT)/cnbd && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u T -u SANITIZE \
		dpkg-buildpackage -b -us -uc -j$$(nproc)
	@ls $(DEB_OUT)/*.deb

.PHONY: deb
