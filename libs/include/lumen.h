/* Lumen shim: the whole C ABI. Each module's declarations live in its own header so
 * modules can grow independently; this header is the one a consumer includes. */
#ifndef LUMEN_H
#define LUMEN_H

#include "lumen_core.h"
#include "lumen_capture.h"
#include "lumen_codec.h"
#include "lumen_enet.h"
#include "lumen_fec.h"
#include "lumen_gpu.h"
#include "lumen_net.h"
#include "lumen_packetize.h"
#include "lumen_audio.h"
#include "lumen_pipewire.h"
#include "lumen_portal.h"

#endif
