// fakenvml.c is a stand-in for libnvidia-ml.so.1 with the few functions memwatch
// calls, so that tests (and a dry run of tools/gpuproof) exercise the real cgo and
// dlopen path without a GPU. One device; its processes are the files in
// $FAKENVML_DIR (file name: pid, content: bytes of GPU memory); it draws 500 W
// while $FAKENVML_DIR/busy exists and 80 W otherwise. Each process listing
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

static const char *dir(void) { const char *d = getenv("FAKENVML_DIR"); return d ? d : "."; }
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double last = 0, energy_mj = 1e9;
static long calls = 0;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double watts(void) { char p[512]; snprintf(p, sizeof p, "%s/busy", dir()); return access(p, F_OK) == 0 ? 500 : 80; }
static void advance(void) {
  pthread_mutex_lock(&mu);
  double t = now();
  if (last > 0) energy_mj += watts() * (t - last) * 1000;
  last = t;
  pthread_mutex_unlock(&mu);
}

nvmlReturn_t nvmlInit_v2(void) { advance(); return 0; }
nvmlReturn_t nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == 0 ? "Success" : "fake error"; }
nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) { snprintf(v, n, "999.fake"); return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *c) { *c = 1; return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) { *d = (void *)0x1234; return 0; }
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *v, unsigned int n) { snprintf(v, n, "Fake H100"); return 0; }
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) { *mw = 700000; return 0; }
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) { advance(); *mw = (unsigned int)(watts() * 1000); return 0; }
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *e) {
  advance(); pthread_mutex_lock(&mu); *e = (unsigned long long)energy_mj; pthread_mutex_unlock(&mu); return 0;
}
static void count_call(void) {
  char p[512]; snprintf(p, sizeof p, "%s/calls", dir());
  pthread_mutex_lock(&mu);
  long c = ++calls;
  pthread_mutex_unlock(&mu);
  FILE *f = fopen(p, "w");
  if (f) { fprintf(f, "%ld\n", c); fclose(f); }
}
static int list(nvmlProcessInfo_t *out, unsigned int max, unsigned long long *sum) {
  DIR *dd = opendir(dir()); int n = 0; struct dirent *e; *sum = 0;
  if (!dd) return 0;
  while ((e = readdir(dd))) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char p[512]; snprintf(p, sizeof p, "%s/%s", dir(), e->d_name);
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
  unsigned long long sum; int n = list(infos, *count, &sum);
  if ((unsigned)n > *count) { *count = n; return 7; /* INSUFFICIENT_SIZE */ }
  *count = n; return 0;
}
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) { return 3; /* NOT_SUPPORTED */ }
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
  nvmlProcessInfo_t tmp[64]; unsigned long long sum; list(tmp, 64, &sum);
  m->total = 80ULL << 30; m->used = sum + (512ULL << 20); m->free = m->total - m->used; return 0;
}
