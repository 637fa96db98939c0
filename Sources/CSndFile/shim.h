#ifndef MAMBAKIT_CSNDFILE_SHIM_H
#define MAMBAKIT_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
