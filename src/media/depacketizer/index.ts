export * from './video.js'
