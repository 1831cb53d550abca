// One Azure Static Web App. Content is uploaded by `azd deploy` (or the GitHub workflow),
// not built by Azure: dist/ already holds everything, incl. staticwebapp.config.json.
param name string
param location string
@allowed(['Free', 'Standard'])
param skuName string = 'Free'
param tags object = {}

resource web 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'web' })
  sku: {
    name: skuName
    tier: skuName
  }
  properties: {
    stagingEnvironmentPolicy: 'Enabled' // pull-request previews
    allowConfigFileUpdates: true
    provider: 'Custom'
    buildProperties: {
      skipGithubActionWorkflowGeneration: true
    }
  }
}

output name string = web.name
output uri string = 'https://${web.properties.defaultHostname}'
