export * from './video.js'
export * from './audio.js'
