// azd entry point: a resource group and one Azure Static Web App hosting dist/.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and tags everything')
param environmentName string

@description('Region of the Static Web App (the content itself is served from a global edge)')
@allowed(['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia'])
param location string

@description('Free (default, no cost) or Standard (custom auth, SLA, more staging slots)')
@allowed(['Free', 'Standard'])
param skuName string = 'Free'

var tags = { 'azd-env-name': environmentName }
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module web 'web.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: 'swa-llm-mem-${resourceToken}'
    location: location
    skuName: skuName
    tags: tags
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
output WEB_URI string = web.outputs.uri
