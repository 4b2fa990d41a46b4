#ifndef CTRX_VERSION_H
#define CTRX_VERSION_H

#define CTRX_VERSION "0.1.0"
#ifndef CTRX_REVISION
#define CTRX_REVISION "unknown"
#endif

#endif
