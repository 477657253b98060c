export * from './svg.js'
