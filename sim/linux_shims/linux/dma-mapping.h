/* DMA API of the userspace virtio_ring build: every call goes to the testbench's hooks
 * (tb/vmsg/linux/glue.c), which translate host pointers inside the AXI memory model's buffer
 * into bus addresses, bounce the others (indirect tables) into a bounce area of that memory,
 * and allocate rings there. `dev` is the struct vmsg_dma of the virtio device (dev.parent). */
#ifndef VMSG_SHIM_DMA_MAPPING_H
#define VMSG_SHIM_DMA_MAPPING_H

#include <stddef.h>
#include <stdint.h>

#ifdef CONFIG_HAS_DMA
# error the userspace virtio build does not support CONFIG_HAS_DMA
#endif

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

struct device;
void *vmsg_dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle);
void vmsg_dma_free_coherent(struct device *dev, size_t size, void *cpu, dma_addr_t handle);
dma_addr_t vmsg_dma_map(struct device *dev, void *cpu, size_t size, enum dma_data_direction dir);
void vmsg_dma_unmap(struct device *dev, dma_addr_t addr, size_t size, enum dma_data_direction dir);

#define dma_alloc_coherent(d, s, hp, f) vmsg_dma_alloc_coherent((struct device *)(d), (s), (hp))
#define dma_free_coherent(d, s, p, h) vmsg_dma_free_coherent((struct device *)(d), (s), (p), (h))
#define dma_map_page(d, p, o, s, dir) \
	vmsg_dma_map((struct device *)(d), (char *)(p) + (o), (s), (dir))
#define dma_map_single(d, p, s, dir) vmsg_dma_map((struct device *)(d), (p), (s), (dir))
#define dma_map_single_attrs(d, p, s, dir, a) vmsg_dma_map((struct device *)(d), (p), (s), (dir))
#define dma_mapping_error(d, a) ((a) == DMA_MAPPING_ERROR)
#define dma_unmap_single(d, a, s, r) vmsg_dma_unmap((struct device *)(d), (a), (s), (r))
#define dma_unmap_page(d, a, s, r) vmsg_dma_unmap((struct device *)(d), (a), (s), (r))
#define dma_unmap_single_attrs(d, a, s, r, t) vmsg_dma_unmap((struct device *)(d), (a), (s), (r))

/* Coherent memory: no syncs needed. */
#define sg_dma_address(sg) (0)
#define dma_need_sync(v, a) (0)
#define dma_sync_single_range_for_cpu(d, a, o, s, r) do { \
	(void)(d); (void)(a); (void)(o); (void)(s); (void)(r); \
} while (0)
#define dma_sync_single_range_for_device(d, a, o, s, r) do { \
	(void)(d); (void)(a); (void)(o); (void)(s); (void)(r); \
} while (0)
#define dma_max_mapping_size(...) SIZE_MAX

#endif
