/* Glue between the testbench (Python, ctypes) and the userspace build of Linux's
 * drivers/virtio/virtio_ring.c: the virtio device object, the DMA hooks behind the DMA API
 * shim (sim/linux_shims/linux/dma-mapping.h) and scatterlist building for virtqueue_add_sgs.
 * Built with virtio_ring.c into build/linux/libvmsg_virtio_ring.so by sim/vmsgsim/linux.py.
 * No locking: the testbench calls it from one thread only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/scatterlist.h>
#include <linux/dma-mapping.h>

/* tools/virtio's kmalloc/kfree test hooks (unused: NULL). */
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;

/* Hooks into Python. Bus addresses are offsets in the memory buffer [base, base + size). */
typedef uint64_t (*vmsg_alloc_fn)(uint64_t size);          /* bus address or ~0 */
typedef void (*vmsg_free_fn)(uint64_t bus, uint64_t size);
typedef uint64_t (*vmsg_map_fn)(uint64_t cpu, uint64_t size, int dir); /* bus address or ~0 */
typedef void (*vmsg_unmap_fn)(uint64_t bus, uint64_t size, int dir);

struct vmsg_dma {
	char *base;
	uint64_t size;
	vmsg_alloc_fn alloc;
	vmsg_free_fn free;
	vmsg_map_fn map;
	vmsg_unmap_fn unmap;
};

struct vmsg_dma *vmsg_dma_new(void *base, uint64_t size, vmsg_alloc_fn alloc, vmsg_free_fn free_fn,
			      vmsg_map_fn map, vmsg_unmap_fn unmap)
{
	struct vmsg_dma *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->base = base;
	d->size = size;
	d->alloc = alloc;
	d->free = free_fn;
	d->map = map;
	d->unmap = unmap;
	return d;
}

void vmsg_dma_delete(struct vmsg_dma *d)
{
	free(d);
}

void *vmsg_dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle)
{
	struct vmsg_dma *d = (struct vmsg_dma *)dev;
	uint64_t bus = d->alloc(size);

	if (bus == ~(uint64_t)0 || bus + size > d->size)
		return NULL;
	*handle = bus;
	return d->base + bus;
}

void vmsg_dma_free_coherent(struct device *dev, size_t size, void *cpu, dma_addr_t handle)
{
	struct vmsg_dma *d = (struct vmsg_dma *)dev;

	(void)cpu;
	d->free(handle, size);
}

dma_addr_t vmsg_dma_map(struct device *dev, void *cpu, size_t size, enum dma_data_direction dir)
{
	struct vmsg_dma *d = (struct vmsg_dma *)dev;
	uint64_t bus = d->map((uint64_t)(uintptr_t)cpu, size, (int)dir);

	return bus == ~(uint64_t)0 ? DMA_MAPPING_ERROR : (dma_addr_t)bus;
}

void vmsg_dma_unmap(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir)
{
	struct vmsg_dma *d = (struct vmsg_dma *)dev;

	d->unmap(addr, size, (int)dir);
}

/* The virtio device as virtio_ring sees it (tools/virtio's struct virtio_device). */
struct virtio_device *vmsg_vdev_new(struct vmsg_dma *dma, uint64_t features)
{
	struct virtio_device *vdev = calloc(1, sizeof(*vdev));

	if (!vdev)
		return NULL;
	INIT_LIST_HEAD(&vdev->vqs);
	spin_lock_init(&vdev->vqs_list_lock);
	vdev->dev.parent = dma;
	vdev->features = features;
	return vdev;
}

void vmsg_vdev_delete(struct virtio_device *vdev)
{
	free(vdev);
}

uint64_t vmsg_vdev_features(struct virtio_device *vdev)
{
	return vdev->features;
}

void vmsg_vdev_set_features(struct virtio_device *vdev, uint64_t features)
{
	vdev->features = features;
}

unsigned int vmsg_vq_index(struct virtqueue *vq)
{
	return vq->index;
}

unsigned int vmsg_vq_num_free(struct virtqueue *vq)
{
	return vq->num_free;
}

/* Not declared by tools/virtio's linux/virtio.h. */
struct virtqueue *vring_create_virtqueue(unsigned int index, unsigned int num, unsigned int vring_align,
					 struct virtio_device *vdev, bool weak_barriers, bool may_reduce_num,
					 bool ctx, bool (*notify)(struct virtqueue *vq),
					 void (*callback)(struct virtqueue *vq), const char *name);

struct virtqueue *vmsg_create_virtqueue(unsigned int index, unsigned int num, unsigned int align,
					struct virtio_device *vdev, bool may_reduce_num,
					bool (*notify)(struct virtqueue *vq),
					void (*callback)(struct virtqueue *vq), const char *name)
{
	/* weak_barriers: the shims' strong barriers abort (and the transport never negotiates
	 * ORDER_PLATFORM, which would turn them on). No per-buffer context. */
	return vring_create_virtqueue(index, num, align, vdev, true, may_reduce_num, false,
				      notify, callback, name);
}

/* virtqueue_add_sgs with n_lists scatterlists (out_sgs readable ones first), list i made of
 * counts[i] buffers taken in order from bufs[] / lens[] (host pointers). */
int vmsg_add_sgs(struct virtqueue *vq, unsigned int out_sgs, unsigned int in_sgs,
		 const unsigned int *counts, void *const *bufs, const unsigned int *lens,
		 void *data)
{
	unsigned int n_lists = out_sgs + in_sgs, total = 0, i, j, k = 0;
	struct scatterlist **sgs, *table;
	int ret;

	for (i = 0; i < n_lists; i++) {
		if (!counts[i])
			return -EINVAL;
		total += counts[i];
	}
	sgs = calloc(n_lists ? n_lists : 1, sizeof(*sgs));
	table = calloc(total ? total : 1, sizeof(*table));
	if (!sgs || !table) {
		free(sgs);
		free(table);
		return -ENOMEM;
	}
	for (i = 0; i < n_lists; i++) {
		sgs[i] = &table[k];
		sg_init_table(sgs[i], counts[i]);
		for (j = 0; j < counts[i]; j++, k++)
			sg_set_buf(&table[k], bufs[k], lens[k]);
	}
	ret = virtqueue_add_sgs(vq, sgs, out_sgs, in_sgs, data, GFP_ATOMIC);
	free(table);
	free(sgs);
	return ret;
}
