// Stands in for react-devtools-core in the agentctl bundle: ink loads it only when
// DEV=true, and servers never run a devtools UI.
export default { initialize() {}, connectToDevTools() {} };
