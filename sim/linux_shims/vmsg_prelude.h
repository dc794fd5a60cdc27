/* Forced include of the userspace build of virtio_ring.c (see README.md). */
#ifndef VMSG_PRELUDE_H
#define VMSG_PRELUDE_H
/* The ring code reads event_triggered racily on purpose; here a plain access. */
#define data_race(expr) (expr)
/* Module metadata means nothing in a shared library. */
#define MODULE_DESCRIPTION(desc)
#endif
