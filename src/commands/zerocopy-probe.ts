import {LumenCommand} from '../cli/command.js'
import {renderTable, verdict} from '../cli/output.js'
import {runProbe, type ProbeReport, probeRows} from '../media/zerocopy/probe.js'

/** Breaks a long detail into lines of at most `width` characters at spaces or '; '. */
function wrap(text: string, width: number): string {
  const lines: string[] = []
  for (const part of text.split('\n')) {
    let line = ''
    for (const word of part.split(' ')) {
      if (line.length > 0 && line.length + 1 + word.length > width) {
        lines.push(line)
        line = word
      } else line = line.length > 0 ? `${line} ${word}` : word
    }
    lines.push(line)
  }
  return lines.join('\n')
}

export default class ZerocopyProbe extends LumenCommand {
  static override summary = 'Tell what works on this box for zero-copy capture and NVENC (run this first on a new box)'

  static override description = `Checks, each reported as ok / absent / failed with the reason:
  libavcodec  the runtime version (must be 62.x, FFmpeg 8) and which encoders exist
  cuda        the driver loads (at run time, never linked), cuInit, driver version, each device's name, compute capability and memory
  egl         GBM on /dev/dri/renderD* when present, else the EGL device platform: version, vendor, client APIs, the extensions the chain needs, the modifiers offered for XRGB8888 and ARGB8888
  gl          a GL context on that display and its GL_RENDERER
  dmabuf      round trip: a test pattern rendered into a texture, exported as a dma-buf (EGL_MESA_image_dma_buf_export), imported again (EGL_EXT_image_dma_buf_import with its modifier), sampled and compared
  glCuda      an RGBA8 texture registered with cuGraphicsGLRegisterImage, mapped, copied device-to-device into a pitched buffer, read back and compared
  nvenc       a hevc_nvenc session opened through libavcodec on a CUDA device context
Verdicts: capture (dma-buf → CUDA frame works) and zerocopy (capture and NVENC both work), each with its first blocking reason.

Exit status: 0 when zerocopy works, 1 when it does not (the box is still reported in full), 2 on a usage error.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  static override enableJsonFlag = true

  async run(): Promise<ProbeReport> {
    await this.parse(ZerocopyProbe)
    let report: ProbeReport
    try {
      report = runProbe()
    } catch (error) {
      this.fail('unavailable', (error as Error).message, {cause: error})
    }
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['check', 'state', 'detail'],
          probeRows(report).map((r) => [r.check, verdict(r.state), wrap(r.detail, 100)]),
          {title: 'lumen zerocopy-probe'},
        ),
      )
    }
    this.verdict(report.zerocopy.ok)
    return report
  }
}
