export * from './format.js'
export * from './video.js'
export * from './audio.js'
