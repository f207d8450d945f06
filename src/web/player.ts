// The recording player: an asciicast v2 file played on xterm.js, with play/pause, seeking and speed.
import { parseAsciicast, parseResize, type AsciicastEvent } from '../shared/asciicast.js'
import { createTerminal, element } from './xterm-setup.js'

const container = element<HTMLDivElement>('player')
const playButton = element<HTMLButtonElement>('play')
const seek = element<HTMLInputElement>('seek')
const speed = element<HTMLSelectElement>('speed')
const clock = element<HTMLSpanElement>('clock')
const status = element<HTMLParagraphElement>('status')
const castUrl = container.dataset.cast
if (!castUrl) throw new Error('the page names no recording')

const response = await fetch(castUrl, { credentials: 'same-origin' })
if (!response.ok) {
  status.textContent = `The recording could not be loaded (HTTP ${response.status}).`
  throw new Error(`HTTP ${response.status}`)
}
const cast = parseAsciicast(await response.text())
const events = cast.events.filter((event) => event.type === 'o' || event.type === 'r')
const duration = events.length > 0 ? events[events.length - 1]!.time : 0
const { term } = createTerminal(container, { fit: false, size: { cols: cast.header.width, rows: cast.header.height }, input: false })
seek.max = String(Math.ceil(duration * 1000))

/** Position: the next event to play, and the recording time shown. */
let next = 0
let position = 0
let timer: ReturnType<typeof setTimeout> | undefined
let startedAt = 0
let startedPosition = 0

// xterm.js parses writes later, but resets and resizes at once: every step goes through one queue, so each
// happens after the output before it (a resize between two outputs, a seek's reset after what was playing).
let steps: Promise<void> = Promise.resolve()
function step(run: () => void | Promise<void>): void {
  steps = steps.then(run)
}

/** Plays the events from `next` up to (and with) `until` seconds: runs of output in one write each. */
function playUntil(until: number): void {
  let text = ''
  const flush = (): void => {
    if (text === '') return
    const data = text
    step(() => new Promise<void>((resolve) => term.write(data, resolve)))
    text = ''
  }
  for (; next < events.length && events[next]!.time <= until; next++) {
    const event: AsciicastEvent = events[next]!
    if (event.type === 'o') {
      text += event.data
      continue
    }
    flush()
    const size = parseResize(event.data)
    if (size) step(() => term.resize(size.cols, size.rows))
  }
  flush()
}

function show(): void {
  seek.value = String(Math.round(position * 1000))
  clock.textContent = `${formatTime(position)} / ${formatTime(duration)}`
}

function rate(): number {
  return Number(speed.value) || 1
}

function tick(): void {
  position = startedPosition + ((performance.now() - startedAt) / 1000) * rate()
  playUntil(position)
  if (next >= events.length) {
    position = duration
    pause()
  } else {
    timer = setTimeout(tick, Math.min(250, Math.max(0, ((events[next]!.time - position) * 1000) / rate())))
  }
  show()
}

function play(): void {
  if (next >= events.length) seekTo(0)
  startedAt = performance.now()
  startedPosition = position
  playButton.textContent = 'Pause'
  playButton.setAttribute('aria-pressed', 'true')
  tick()
}

function pause(): void {
  clearTimeout(timer)
  timer = undefined
  playButton.textContent = 'Play'
  playButton.setAttribute('aria-pressed', 'false')
}

/** Jumps to `seconds`: a fresh screen, then every event up to there at once. */
function seekTo(seconds: number): void {
  step(() => {
    term.reset()
    term.resize(cast.header.width, cast.header.height)
  })
  next = 0
  position = Math.max(0, Math.min(duration, seconds))
  playUntil(position)
  startedAt = performance.now()
  startedPosition = position
  show()
}

function formatTime(seconds: number): string {
  const whole = Math.floor(seconds)
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`
}

playButton.addEventListener('click', () => (timer === undefined ? play() : pause()))
seek.addEventListener('input', () => {
  const playing = timer !== undefined
  pause()
  seekTo(Number(seek.value) / 1000)
  if (playing) play()
})
speed.addEventListener('change', () => {
  if (timer === undefined) return
  pause()
  play()
})
status.textContent = `${events.length} events, ${formatTime(duration)} long.`
seekTo(0)
play()
