//go:build llamacpp && linux

package llamacpp

/*
#include <malloc.h>
*/
import "C"

// trimHeap gives glibc's free heap memory back to the system. llama.cpp's
// buffers below the malloc mmap threshold (which glibc raises to the size of
// the largest block freed, up to 32 MiB) stay in the heap after free; a model's
// compute buffers and output logits are such blocks.
func trimHeap() { C.malloc_trim(0) }
