// fakenvml.c is a stand-in for libnvidia-ml.so.1 with the few functions memwatch
// calls, so that tests (and a dry run of tools/gpuproof) exercise the real cgo and
// dlopen path without a GPU. $FAKENVML_DEVICES devices (default 1, at most 8).
// Device 0's processes are the files in $FAKENVML_DIR (file name: pid, content:
// bytes of GPU memory), device i's those in $FAKENVML_DIR/gpuI; a device draws
// 500 W while busy exists in its folder and 80 W otherwise. Each process listing
// rewrites $FAKENVML_DIR/calls with the number of listings so far.
//
//	cc -O2 -shared -fPIC -o libnvidia-ml.so.1 fakenvml.c -lpthread
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

typedef int nvmlReturn_t;
typedef void *nvmlDevice_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gi, ci; } nvmlProcessInfo_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;

#define MAXDEV 8
static const char *root(void) { const char *d = getenv("FAKENVML_DIR"); return d ? d : "."; }
static int ndev(void) { const char *n = getenv("FAKENVML_DEVICES"); int k = n ? atoi(n) : 1; return k < 1 ? 1 : k > MAXDEV ? MAXDEV : k; }
static int idx(nvmlDevice_t d) { long i = (long)d - 1; return i < 0 || i >= MAXDEV ? 0 : (int)i; }
// dev_dir writes device i's folder into p.
static void dev_dir(int i, char *p, size_t n) {
  if (i == 0) snprintf(p, n, "%s", root()); else snprintf(p, n, "%s/gpu%d", root(), i);
}
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double last[MAXDEV], energy_mj[MAXDEV] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
static long calls = 0;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double watts(int i) { char d[400], p[512]; dev_dir(i, d, sizeof d); snprintf(p, sizeof p, "%s/busy", d); return access(p, F_OK) == 0 ? 500 : 80; }
static void advance(int i) {
  pthread_mutex_lock(&mu);
  double t = now();
  if (last[i] > 0) energy_mj[i] += watts(i) * (t - last[i]) * 1000;
  last[i] = t;
  pthread_mutex_unlock(&mu);
}

nvmlReturn_t nvmlInit_v2(void) { for (int i = 0; i < MAXDEV; i++) advance(i); return 0; }
nvmlReturn_t nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == 0 ? "Success" : "fake error"; }
nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) { snprintf(v, n, "999.fake"); return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *c) { *c = ndev(); return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if ((int)i >= ndev()) return 2; /* INVALID_ARGUMENT */
  *d = (void *)(long)(i + 1); return 0;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *v, unsigned int n) { snprintf(v, n, "Fake H100"); return 0; }
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) { *mw = 700000; return 0; }
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) { advance(idx(d)); *mw = (unsigned int)(watts(idx(d)) * 1000); return 0; }
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *e) {
  int i = idx(d);
  advance(i); pthread_mutex_lock(&mu); *e = (unsigned long long)energy_mj[i]; pthread_mutex_unlock(&mu); return 0;
}
static void count_call(void) {
  char p[512]; snprintf(p, sizeof p, "%s/calls", root());
  pthread_mutex_lock(&mu);
  long c = ++calls;
  pthread_mutex_unlock(&mu);
  FILE *f = fopen(p, "w");
  if (f) { fprintf(f, "%ld\n", c); fclose(f); }
}
static int list(int i, nvmlProcessInfo_t *out, unsigned int max, unsigned long long *sum) {
  char dir[400]; dev_dir(i, dir, sizeof dir);
  DIR *dd = opendir(dir); int n = 0; struct dirent *e; *sum = 0;
  if (!dd) return 0;
  while ((e = readdir(dd))) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char p[700]; snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    FILE *f = fopen(p, "r"); unsigned long long b = 0;
    if (f) { if (fscanf(f, "%llu", &b) != 1) b = 0; fclose(f); }
    *sum += b;
    if ((unsigned)n < max) { out[n].pid = pid; out[n].usedGpuMemory = b; out[n].gi = out[n].ci = 0xFFFFFFFF; }
    n++;
  }
  closedir(dd);
  return n;
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
  count_call();
  unsigned long long sum; int n = list(idx(d), infos, *count, &sum);
  if ((unsigned)n > *count) { *count = n; return 7; /* INSUFFICIENT_SIZE */ }
  *count = n; return 0;
}
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) { return 3; /* NOT_SUPPORTED */ }
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  nvmlProcessInfo_t tmp[64]; unsigned long long sum; list(idx(d), tmp, 64, &sum);
  m->total = 80ULL << 30; m->used = sum + (512ULL << 20); m->free = m->total - m->used; return 0;
}
