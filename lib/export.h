/* SPDX-License-Identifier: MIT */
/* struct cnbd_export is public: see include/cnbd/serve.h. */
#ifndef CNBD_EXPORT_H
#define CNBD_EXPORT_H

#include "cnbd/serve.h"

#endif
