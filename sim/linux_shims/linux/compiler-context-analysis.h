/* Lock-context annotations: empty outside the sparse checker (see ../README.md). */
#ifndef VMSG_SHIM_COMPILER_CONTEXT_ANALYSIS_H
#define VMSG_SHIM_COMPILER_CONTEXT_ANALYSIS_H
#define __must_hold(x)
#define __acquires(x)
#define __cond_acquires(x)
#define __releases(x)
#define __acquire(x) (void)0
#define __release(x) (void)0
#define __cond_lock(x, c) (c)
#endif
